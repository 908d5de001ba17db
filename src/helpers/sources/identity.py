"""Who a row belongs to, across sources: anonymous events stitched to customers, and customer ids that
no other source knows.

Stitching (deterministic): an events source's ``anonymous_id`` (a device or cookie) that appears, in the
kept events up to the period end, together with exactly one ``customer_id`` links every event of that
anonymous id without a customer id to that customer (``identity`` = ``stitched``). One seen with two or
more customer ids (a shared device) links none (``ambiguous``); one never seen with a customer id stays
``anonymous``; an event that came with its customer id is ``identified``. The result depends only on the
set of kept events, never on their order, and uses no event after the period end.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from helpers.schema import normalise_customer_id

IDENTITIES = {
    "identified": "came with a customer id",
    "stitched": "anonymous, linked to a customer through its anonymous id",
    "ambiguous": "anonymous; its anonymous id was seen with several customers, so it is not linked",
    "anonymous": "anonymous; its anonymous id was never seen with a customer id",
}


def stitch(kept: ir.Table) -> ir.Table:
    """The kept events with ``customer_id`` filled where stitching links them and ``identity`` (one of
    :data:`IDENTITIES`)."""
    if "anonymous_id" not in kept.columns:
        return kept.mutate(identity=ibis.literal("identified"))
    if "customer_id" not in kept.columns:
        kept = kept.mutate(customer_id=ibis.null("string"))
    seen = kept.filter(kept.customer_id.notnull() & kept.anonymous_id.notnull())
    links = seen.group_by(_anonymous=seen.anonymous_id).agg(
        _customers=seen.customer_id.nunique(), _linked=seen.customer_id.min()
    )
    joined = kept.left_join(links, kept.anonymous_id == links._anonymous)
    identity = ibis.cases(
        (joined.customer_id.notnull(), "identified"),
        (joined._customers == 1, "stitched"),
        (joined._customers > 1, "ambiguous"),
        else_="anonymous",
    )
    customer = ibis.ifelse(
        joined.customer_id.isnull() & (joined._customers == 1), joined._linked, joined.customer_id
    )
    return joined.mutate(customer_id=customer, identity=identity).drop("_anonymous", "_customers", "_linked")


def identity_facts(stitched: ir.Table) -> dict:
    """Events by identity, the share linked to a customer, and the anonymous ids linked or ambiguous."""
    t = stitched.select(*[c for c in ("identity", "anonymous_id") if c in stitched.columns])
    counts = t.group_by("identity").agg(rows=t.count()).execute()
    by_identity = {name: 0 for name in IDENTITIES}
    by_identity.update({str(k): int(v) for k, v in zip(counts["identity"], counts["rows"])})
    total = sum(by_identity.values())
    facts: dict = {
        "events_by_identity": by_identity,
        "identity_descriptions": IDENTITIES,
        "share_identified": (by_identity["identified"] + by_identity["stitched"]) / total if total else 0.0,
        "share_identified_before_stitching": by_identity["identified"] / total if total else 0.0,
    }
    if "anonymous_id" in t.columns:
        ids = t.filter(t.identity.isin(["stitched", "ambiguous"]))
        linked = ids.group_by("identity").agg(ids=ids.anonymous_id.nunique()).execute()
        found = {str(k): int(v) for k, v in zip(linked["identity"], linked["ids"])}
        facts["anonymous_ids_linked"] = found.get("stitched", 0)
        facts["anonymous_ids_ambiguous"] = found.get("ambiguous", 0)
    return facts


def ids_elsewhere(kind: str, ingested: dict[str, ir.Table]) -> ir.Table | None:
    """The customer ids (normalised) that appear in any ingested source other than ``kind``: a customer
    known there is known to the business. None when no other source has customer ids."""
    parts = [
        table.select(customer_id=normalise_customer_id(table.customer_id.cast("string")))
        for other, table in ingested.items()
        if other != kind and "customer_id" in table.columns
    ]
    if not parts:
        return None
    ids = ibis.union(*parts, distinct=True)
    return ids.filter(ids.customer_id.notnull())


def unknown_customer_facts(kept: ir.Table, elsewhere: ir.Table | None) -> dict:
    """Kept rows (and their distinct customers) whose customer id no other source knows: potential
    customers."""
    with_id = kept.filter(kept.customer_id.notnull())
    unknown = with_id if elsewhere is None else with_id.anti_join(elsewhere, "customer_id")
    values = unknown.agg(rows=unknown.count(), customers=unknown.customer_id.nunique()).execute().iloc[0]
    return {"rows_of_unknown_customers": int(values["rows"]), "unknown_customers": int(values["customers"])}
