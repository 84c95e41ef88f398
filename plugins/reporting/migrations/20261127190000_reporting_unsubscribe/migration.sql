-- Unsubscribing from a report's emails (the signed link in every notification): the address is
-- removed from the report's followers and, when it is the reporter's, from the report itself.
GRANT UPDATE ("reporter_email") ON "reporting_requests" TO app_rw;
