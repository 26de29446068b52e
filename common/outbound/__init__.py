"""Event webhooks out: the shop's systems hear about orders, payments and messages.

- `services.outbound_event_emit` records an event and one delivery per subscribed endpoint in
  the caller's transaction; nothing calls out inside a transaction (the delivery task is kicked
  on commit, and the periodic sweep picks up whatever a lost kick or a dead worker left).
- `delivery` claims due deliveries (SELECT ... FOR UPDATE SKIP LOCKED plus a lease), POSTs them
  signed (`signing`), in order per ordering key per endpoint, retrying with backoff until
  WEBHOOK_MAX_AGE, and pauses an endpoint after WEBHOOK_PAUSE_AFTER_FAILURES failures in a row.
- `urls` checks endpoint URLs at registration and at every connection (SSRF rules).

Apps above common emit their events (orders, messaging, checkout); this package imports none.
"""
