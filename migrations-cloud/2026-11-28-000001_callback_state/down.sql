DROP INDEX events_received_at;
DROP TABLE events;
DROP TABLE corp_authorizations;
DROP TABLE suite_tickets;
