/** Upload ids and paths are parsed in `src/tus/upload-url.ts`; kept here for existing imports. */
export { isValidUploadId, parseUploadPath, type UploadPath } from '../tus/upload-url.ts';
