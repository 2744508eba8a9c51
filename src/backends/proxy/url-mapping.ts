import { isValidUploadId } from '../../gateway/upload-path.ts';

/**
 * Maps upload URLs between the public side (`https://galaxy.example/api/upload/resumable_upload/<id>`)
 * and a backend (`http://127.0.0.1:1081/files/<id>`). Ids are never changed, only the base.
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

  /** Upload URL as the client must see it; undefined when `value` is not one of the backend's upload URLs. */
  toPublic(value: string, publicOrigin: string): string | undefined {
    const id = this.idFrom(value, this.backendBase.href, this.backendBasePath);
    return id === undefined ? undefined : `${publicOrigin}${this.publicBase}${id}`;
  }

  /** Backend path of an upload named by a public URL (absolute or relative); undefined if it is not ours. */
  toBackendPath(value: string, publicOrigin: string): string | undefined {
    const id = this.idFrom(value, `${publicOrigin}${this.publicBase}`, this.publicBase);
    return id === undefined ? undefined : `${this.backendBasePath}${id}`;
  }

  /** `final;<url> <url>` rewritten by `map`; undefined if any URL does not map. `partial` passes unchanged. */
  mapConcat(header: string, map: (url: string) => string | undefined): string | undefined {
    const trimmed = header.trim();
    if (!trimmed.toLowerCase().startsWith('final;')) return trimmed;
    const urls = trimmed.slice('final;'.length).split(/\s+/).filter(Boolean);
    const mapped = urls.map(map);
    if (mapped.length === 0 || mapped.some((url) => url === undefined)) return undefined;
    return `final;${mapped.join(' ')}`;
  }

  private idFrom(value: string, base: string, basePath: string): string | undefined {
    let url: URL;
    try {
      url = new URL(value.trim(), base);
    } catch {
      return undefined;
    }
    if (!url.pathname.startsWith(basePath)) return undefined;
    const id = url.pathname.slice(basePath.length);
    return isValidUploadId(id) ? id : undefined;
  }
}
