"""Privacy and access: keys from the environment (``keys``), encryption at rest (``encryption``), who may
read which file (``permissions``, ``audiences``), marketing consent and suppression lists (``consent``),
the audit trail (``audit``), retention (``retention``), erasure (``forget``) and what a run may publish
(``guard``). Nothing here makes a network call."""
