import { formatUploadConcat, parseUploadConcat } from '../../tus/headers/upload-concat.ts';
import { formatUploadUrl, parseUploadUrl, type UploadUrlBase } from '../../tus/upload-url.ts';

/**
 * Maps upload URLs between the public side (`https://galaxy.example/api/upload/resumable_upload/<id>`)
 * and a backend (`http://127.0.0.1:1081/files/<id>`). Ids are never changed, only the base. Both
 * directions go through the strict parsers of `src/tus/`: requests arrive already parsed (ids),
 * and a backend URL that does not parse as one of its upload URLs is never rewritten loosely.
 */
export class UrlMapper {
  readonly backendBase: URL;
  readonly backendBasePath: string;
  readonly publicBase: string;

  constructor(backendUrl: URL, publicBase: string) {
    const base = new URL(backendUrl.href);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.backendBase = base;
    this.backendBasePath = base.pathname;
    this.publicBase = publicBase;
  }

  /** The backend path of an upload id (what an upstream request and Upload-Concat name). */
  backendPath(id: string): string {
    return `${this.backendBasePath}${id}`;
  }

  /** The upload URL a client sees. */
  publicUrl(id: string, publicOrigin: string): string {
    return formatUploadUrl(id, publicOrigin, this.publicBase);
  }

  /**
   * The id a backend URL names: path-only, or absolute on the backend's own origin or on the public
   * origin (tusd behind a proxy builds its URLs from X-Forwarded-Host/-Proto).
   */
  idFromBackendUrl(value: string, publicOrigin: string): string | undefined {
    return parseUploadUrl(value, this.backendUrlBase(publicOrigin));
  }

  /** Location as the client must see it; undefined when `value` is not one of the backend's upload URLs. */
  toPublic(value: string, publicOrigin: string): string | undefined {
    const id = this.idFromBackendUrl(value, publicOrigin);
    return id === undefined ? undefined : this.publicUrl(id, publicOrigin);
  }

  /** A backend's Upload-Concat answer with public URLs; undefined when it does not parse strictly. */
  concatToPublic(value: string, publicOrigin: string): string | undefined {
    try {
      const concat = parseUploadConcat(value, this.backendUrlBase(publicOrigin));
      return formatUploadConcat(concat, (id) => this.publicUrl(id, publicOrigin));
    } catch {
      return undefined;
    }
  }

  private backendUrlBase(publicOrigin: string): UploadUrlBase {
    return { origins: [this.backendBase.origin, publicOrigin], basePath: this.backendBasePath };
  }
}
