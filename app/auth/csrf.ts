/** The hidden form field carrying the CSRF token (see csrf.server.ts). */
export const CSRF_FIELD = "csrf";
