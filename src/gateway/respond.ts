/** The error → response mapping lives in `src/tus/respond.ts`; kept here for existing imports. */
export { TUS_VERSION } from '../tus/constants.ts';
export { sendError, toTusgateError } from '../tus/respond.ts';
