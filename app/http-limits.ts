// Body limits of the pages' forms, shared by the server that enforces them and the settings that
// must fit in them (a city's photo limits on the report form).
export const URLENCODED_FORM_LIMIT = 64 * 1024;
/** A multipart form whole: files and fields together. */
export const MULTIPART_FORM_LIMIT = 10 * 1024 * 1024;
