/** Go's canonical MIME header form (`upload-length` → `Upload-Length`), as tusd's hooks send. */
export function canonicalHeaderName(name: string): string {
  return name
    .toLowerCase()
    .replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}
