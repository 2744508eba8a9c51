/**
 * A store layout such as `{year}/{month}/{day}`: the folder (relative to the store root) that an
 * upload created at a given UTC time lives in. Cleanup also reads folder names back into time
 * ranges, so each folder level must be made of tokens and literal text only.
 */
export type LayoutToken = 'year' | 'month' | 'day' | 'hour';

const tokenPattern = /\{(year|month|day|hour)\}/g;
const tokenWidth: Record<LayoutToken, number> = { year: 4, month: 2, day: 2, hour: 2 };

export interface LayoutLevel {
  /** The folder name template of this level, e.g. `{year}` or `d{day}`. */
  template: string;
  tokens: LayoutToken[];
  /** Matches a folder name of this level; capture groups follow `tokens`. */
  pattern: RegExp;
}

export interface Layout {
  readonly template: string;
  readonly levels: readonly LayoutLevel[];
  folderFor(timeMs: number): string;
}

export function compileLayout(template: string): Layout {
  const levels = template.split('/').map((part): LayoutLevel => {
    const tokens = [...part.matchAll(tokenPattern)].map((match) => match[1] as LayoutToken);
    let source = '';
    let last = 0;
    for (const match of part.matchAll(tokenPattern)) {
      source += escapeRegExp(part.slice(last, match.index));
      source += `(\\d{${tokenWidth[match[1] as LayoutToken]}})`;
      last = match.index + match[0].length;
    }
    source += escapeRegExp(part.slice(last));
    return { template: part, tokens, pattern: new RegExp(`^${source}$`) };
  });
  return {
    template,
    levels,
    folderFor(timeMs) {
      const date = new Date(timeMs);
      const values: Record<LayoutToken, string> = {
        year: String(date.getUTCFullYear()).padStart(4, '0'),
        month: String(date.getUTCMonth() + 1).padStart(2, '0'),
        day: String(date.getUTCDate()).padStart(2, '0'),
        hour: String(date.getUTCHours()).padStart(2, '0'),
      };
      return template.replace(tokenPattern, (_, token: LayoutToken) => values[token]);
    },
  };
}

/** Known parts of a date, accumulated while walking down the layout's folders. */
export type DateParts = Partial<Record<LayoutToken, number>>;

/**
 * The first instant after the period the known parts describe: a folder whose parts say
 * `2026/11` holds uploads created before 2026-12-01T00:00Z. Null when the parts do not pin a
 * period down (no year yet).
 */
export function periodEnd(parts: DateParts): number | null {
  const { year, month, day, hour } = parts;
  if (year === undefined) return null;
  if (month === undefined) return Date.UTC(year + 1, 0, 1);
  if (day === undefined) return Date.UTC(year, month, 1);
  if (hour === undefined) return Date.UTC(year, month - 1, day + 1);
  return Date.UTC(year, month - 1, day, hour + 1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
