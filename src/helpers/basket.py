"""Stage 06: market baskets. Association rules between products and between categories, found with
FP-growth (mlxtend) on a sparse encoding of the baskets and counted exactly on every basket in the
engine; rules per RFM segment; and each customer's next best product: the strongest rule whose
antecedent the customer bought and whose consequent they have not.

A basket is an order: the distinct products (or categories) of its purchase lines up to the as-of date;
returns and lines without the item are left out. Above ``basket.fit_sample_above`` baskets the frequent
itemsets are found on a fixed-seed sample of baskets; every figure of every rule (support, confidence,
lift, leverage, conviction and the basket counts behind them) is then counted on all baskets, so the
sample only decides which itemsets are looked at.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from helpers import engine, formats, labels
from helpers.config import BasketConfig

LEVELS = {"product": "product_id", "category": "category"}  # rule level -> the column holding the item
ALL_CUSTOMERS = "all customers"  # the segment column of the rules mined on every basket
SAMPLE_SLACK = 0.8  # on a sample of baskets, itemsets are searched down to this share of the threshold
RULE_COLUMNS = [
    "level",
    "segment",
    "rank",
    "antecedent",
    "consequent",
    "antecedent_items",
    "baskets",
    "antecedent_baskets",
    "consequent_baskets",
    "rule_baskets",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
]


def basket_items(transactions: ir.Table, as_of: dt.date, level: str = "product") -> ir.Table:
    """Distinct (``basket_id``, ``customer_id``, ``item``) of the purchase lines up to ``as_of``: a
    basket is an order; returns and lines without the level's column are left out."""
    column = LEVELS[level]
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    t = transactions
    kept = t.filter((t.order_ts < until) & ~t.is_return & t[column].notnull())
    return kept.select(basket_id=kept.order_id, customer_id=kept.customer_id, item=kept[column]).distinct()


def fitting_baskets(
    con: ibis.BaseBackend, items: ir.Table, sample_above: int, seed: int
) -> tuple[pd.DataFrame, int]:
    """The (``basket_id``, ``item``) rows FP-growth reads, and how many baskets there are in all: every
    basket up to ``sample_above``, else a fixed-seed sample of that many (drawn from the sorted basket
    ids, so both engines draw the same baskets)."""
    ids = items.select("basket_id").distinct().order_by("basket_id").to_pyarrow().column(0).to_numpy(False)
    total = len(ids)
    if total <= sample_above:
        rows = items.select("basket_id", "item").to_pandas()
    else:
        chosen = np.sort(np.random.default_rng(seed).choice(total, size=sample_above, replace=False))
        sample = engine.small_table(con, "basket_sample", pd.DataFrame({"basket_id": ids[chosen]}))
        rows = items.semi_join(sample, "basket_id").select("basket_id", "item").to_pandas()
    return rows, total


def frequent_itemsets(rows: pd.DataFrame, min_support: float, max_len: int) -> dict[tuple[str, ...], int]:
    """The itemsets (sorted tuples of items) in at least ``min_support`` of the baskets of ``rows``
    (``basket_id``, ``item``), with the number of those baskets holding each, found with FP-growth on a
    sparse basket x item matrix; items rarer than the threshold are dropped before encoding (they cannot
    be in a frequent itemset)."""
    from mlxtend.frequent_patterns import fpgrowth
    from scipy import sparse

    baskets = rows["basket_id"].nunique()
    if baskets == 0:
        return {}
    per_item = rows.groupby("item")["basket_id"].nunique()
    common = per_item.index[per_item >= min_support * baskets]
    kept = rows[rows["item"].isin(common)]
    if kept.empty:
        return {}
    basket_codes, _ = pd.factorize(kept["basket_id"], sort=True)
    item_codes, item_names = pd.factorize(kept["item"], sort=True)
    # Baskets without a common item still count in the denominator: the matrix has a row for each.
    matrix = sparse.csr_matrix(
        (np.ones(len(kept), dtype=bool), (basket_codes, item_codes)),
        shape=(baskets, len(item_names)),
    )
    encoded = pd.DataFrame.sparse.from_spmatrix(matrix, columns=[str(name) for name in item_names])
    found = fpgrowth(encoded, min_support=min_support, use_colnames=True, max_len=max_len)
    held = np.rint(found["support"].to_numpy() * baskets).astype(int)
    return dict(sorted(zip((tuple(sorted(s)) for s in found["itemsets"]), held.tolist(), strict=True)))


def itemset_baskets(con: ibis.BaseBackend, items: ir.Table, itemsets: list[tuple[str, ...]]) -> dict:
    """Exact number of baskets of ``items`` holding every item of each itemset, counted in the engine:
    {itemset: baskets}."""
    if not itemsets:
        return {}
    members = pd.DataFrame(
        [(number, item, len(itemset)) for number, itemset in enumerate(itemsets) for item in itemset],
        columns=["itemset", "item", "size"],
    )
    lookup = engine.small_table(con, "basket_itemsets", members)
    joined = items.select("basket_id", "item").join(lookup, "item")
    per_basket = joined.group_by(["itemset", "basket_id", "size"]).agg(held=joined.item.count())
    complete = per_basket.filter(per_basket.held == per_basket.size)
    counts = complete.group_by("itemset").agg(baskets=complete.basket_id.count()).to_pandas()
    found = dict(zip(counts["itemset"].astype(int), counts["baskets"].astype(int), strict=True))
    return {itemset: found.get(number, 0) for number, itemset in enumerate(itemsets)}


def rule_metrics(rule_baskets: int, antecedent_baskets: int, consequent_baskets: int, baskets: int) -> dict:
    """Support, confidence, lift, leverage and conviction of antecedent -> consequent from basket
    counts. Conviction is (1 - support of the consequent) / (1 - confidence): how much more often the
    rule would be wrong if the two were independent; None when the rule is never wrong (infinite)."""
    support = rule_baskets / baskets
    confidence = rule_baskets / antecedent_baskets
    consequent_share = consequent_baskets / baskets
    antecedent_share = antecedent_baskets / baskets
    return {
        "support": support,
        "confidence": confidence,
        "lift": confidence / consequent_share,
        "leverage": support - antecedent_share * consequent_share,
        "conviction": None if confidence >= 1 else (1 - consequent_share) / (1 - confidence),
    }


def rules_from_counts(counts: dict, baskets: int, config: BasketConfig) -> pd.DataFrame:
    """Every rule antecedent -> consequent (one item) whose itemset is frequent on all baskets (at least
    ``min_support`` and ``min_rule_baskets``) and which reaches ``min_confidence`` and ``min_lift``;
    strongest first (lift, then confidence, then the items, so the order is reproducible)."""
    rows = []
    for itemset, together in counts.items():
        if len(itemset) < 2 or together < max(config.min_rule_baskets, config.min_support * baskets):
            continue
        for consequent in itemset:
            antecedent = tuple(item for item in itemset if item != consequent)
            metrics = rule_metrics(together, counts[antecedent], counts[(consequent,)], baskets)
            if metrics["confidence"] < config.min_confidence or metrics["lift"] < config.min_lift:
                continue
            rows.append(
                {
                    "antecedent": " + ".join(antecedent),
                    "consequent": consequent,
                    "antecedent_items": len(antecedent),
                    "baskets": baskets,
                    "antecedent_baskets": counts[antecedent],
                    "consequent_baskets": counts[(consequent,)],
                    "rule_baskets": together,
                    **metrics,
                }
            )
    rules = pd.DataFrame(rows, columns=RULE_COLUMNS[3:])
    if rules.empty:
        return rules.astype({"antecedent": "object", "consequent": "object"})
    # Lift and confidence rounded for the order only: equal ratios computed two ways may differ in
    # their last bit, and the order must not depend on it.
    order = rules.assign(_lift=rules["lift"].round(9), _confidence=rules["confidence"].round(9))
    order = order.sort_values(
        ["_lift", "_confidence", "antecedent", "consequent"], ascending=[False, False, True, True]
    )
    return order.drop(columns=["_lift", "_confidence"]).reset_index(drop=True)


def mine_rules(
    con: ibis.BaseBackend, items: ir.Table, config: BasketConfig, seed: int
) -> tuple[pd.DataFrame, dict]:
    """The rules of one set of baskets and what was done: baskets, whether itemsets were found on a
    sample, itemsets found. Fewer baskets than ``min_baskets``: no rules (a handful of baskets makes
    chance look like a rule), and the facts say so."""
    rows, baskets = fitting_baskets(con, items, config.fit_sample_above, seed)
    facts = {"baskets": baskets, "sampled_baskets": None, "itemsets": 0, "enough_baskets": True}
    if baskets < config.min_baskets:
        facts["enough_baskets"] = False
        return rules_from_counts({}, max(baskets, 1), config), facts
    if baskets > config.fit_sample_above:
        facts["sampled_baskets"] = config.fit_sample_above
    # An itemset needs min_support of the baskets and min_rule_baskets of them. On a sample the
    # threshold is relaxed by SAMPLE_SLACK, so that an itemset just above it on all baskets is not lost
    # to sampling noise; the exact counts on all baskets then apply the real threshold.
    threshold = max(config.min_support, config.min_rule_baskets / baskets)
    if facts["sampled_baskets"]:
        threshold *= SAMPLE_SLACK
    itemsets = frequent_itemsets(rows, threshold, config.max_len)
    facts["itemsets"] = len(itemsets)
    # FP-growth's counts are exact when it read every basket; on a sample, every itemset it found is
    # counted again on all baskets in the engine.
    counts = itemset_baskets(con, items, list(itemsets)) if facts["sampled_baskets"] else itemsets
    return rules_from_counts(counts, baskets, config), facts


def all_rules(
    con: ibis.BaseBackend,
    transactions: ir.Table,
    as_of: dt.date,
    segments: pd.DataFrame | None,
    config: BasketConfig,
    seed: int,
) -> tuple[pd.DataFrame, dict]:
    """The rules at product and at category level (where the orders have the column), on every basket
    and within each RFM segment's
    customers' baskets (``segments``: customer_id, segment; None: no segment rules), and the facts of
    each mining ({level: {segment: facts}})."""
    parts, facts = [], {}
    for level in [level for level, column in LEVELS.items() if column in transactions.columns]:
        items = engine.materialise(con, f"basket_items_{level}", basket_items(transactions, as_of, level))
        groups = [(ALL_CUSTOMERS, items)]
        if segments is not None and config.by_segment:
            lookup = engine.small_table(con, "basket_segments", segments[["customer_id", "segment"]])
            for name in sorted(segments["segment"].dropna().unique()):
                members = lookup.filter(lookup.segment == name).select("customer_id")
                groups.append((name, items.semi_join(members, "customer_id")))
        facts[level] = {}
        for segment, group in groups:
            rules, mined = mine_rules(con, group, config, seed)
            parts.append(rules.assign(level=level, segment=segment, rank=np.arange(1, len(rules) + 1)))
            facts[level][segment] = mined
    rules = pd.concat(parts, ignore_index=True)[RULE_COLUMNS] if parts else pd.DataFrame(columns=RULE_COLUMNS)
    return rules, facts


def next_best_products(
    con: ibis.BaseBackend,
    transactions: ir.Table,
    as_of: dt.date,
    rules: pd.DataFrame,
    names: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per customer, the product to offer next: of the product rules mined on every basket, the
    strongest (lift, then confidence, then rule order) whose antecedent products the customer has all
    bought up to ``as_of`` and whose consequent they never bought. Customers no rule fits are not
    listed. Counted in the engine (customers x rules can be large). ``names`` (product_id,
    product_name) adds the offered product's name."""
    chosen = rules[(rules["level"] == "product") & (rules["segment"] == ALL_CUSTOMERS)].reset_index(drop=True)
    columns = ["customer_id", "product_id", "because_bought", "lift", "confidence", "rule_baskets"]
    if chosen.empty:
        named = ["product_name"] if names is not None else []
        return pd.DataFrame(columns=[*columns[:2], *named, *columns[2:]])
    antecedents = pd.DataFrame(
        [
            (number, item, rule["antecedent_items"])
            for number, rule in chosen.iterrows()
            for item in rule["antecedent"].split(" + ")
        ],
        columns=["rule", "item", "size"],
    )
    rule_table = engine.small_table(
        con, "nbp_rules", chosen[["consequent"]].rename_axis("rule").reset_index().astype({"rule": "int64"})
    )
    lookup = engine.small_table(con, "nbp_antecedents", antecedents)
    bought = basket_items(transactions, as_of, "product").select("customer_id", "item").distinct()
    joined = bought.join(lookup, "item")
    held = joined.group_by(["customer_id", "rule", "size"]).agg(found=joined.item.count())
    fits = held.filter(held.found == held.size).select("customer_id", "rule").join(rule_table, "rule")
    owned = bought.select(customer_id="customer_id", consequent="item")
    open_rules = fits.anti_join(owned, ["customer_id", "consequent"])
    best = open_rules.group_by("customer_id").agg(rule=open_rules.rule.min())  # rules are strongest first
    found = best.join(rule_table, "rule").to_pandas()
    found = found.merge(
        chosen[["antecedent", "lift", "confidence", "rule_baskets"]], left_on="rule", right_index=True
    )
    found = found.rename(columns={"consequent": "product_id", "antecedent": "because_bought"})
    found = found[columns].sort_values("customer_id").reset_index(drop=True)
    if names is not None:
        found.insert(
            2, "product_name", found["product_id"].map(names.set_index("product_id")["product_name"])
        )
    return found


def with_names(rules: pd.DataFrame, names: pd.DataFrame | None) -> pd.DataFrame:
    """Product rules with the products' names next to their ids (``names``: product_id, product_name;
    the most common name of each id)."""
    if names is None or names.empty:
        return rules
    lookup = names.set_index("product_id")["product_name"]

    def named(items: str) -> str:
        return " + ".join(f"{lookup.get(item, item)} ({item})" for item in items.split(" + "))

    product = rules["level"] == "product"
    out = rules.copy()
    out["antecedent_names"] = out["antecedent"].where(~product, out["antecedent"].map(named))
    out["consequent_names"] = out["consequent"].where(~product, out["consequent"].map(named))
    return out


def product_names(transactions: ir.Table) -> pd.DataFrame | None:
    """The most common product name of each product id (None: the source has no names)."""
    if "product_name" not in transactions.columns:
        return None
    t = transactions.filter(transactions.product_id.notnull() & transactions.product_name.notnull())
    counted = t.group_by(["product_id", "product_name"]).agg(lines=t.count()).to_pandas()
    if counted.empty:
        return None
    counted = counted.sort_values(["product_id", "lines", "product_name"], ascending=[True, False, True])
    return counted.drop_duplicates("product_id")[["product_id", "product_name"]].reset_index(drop=True)


def finite(value: float | None) -> float:
    """A conviction for display: infinite (None) as math.inf."""
    return math.inf if value is None or pd.isna(value) else float(value)


# ----------------------------------------------------------------------------------- on the page

RULE_KINDS = {"rule_baskets": "count", "confidence": "share", "lift": "number"}


def rules_for_page(rules: pd.DataFrame, level: str, segment: str, top_n: int) -> pd.DataFrame:
    """The strongest ``top_n`` rules of a level and segment as the pages show them: what was bought,
    what else the same orders held, the orders holding both, the confidence and the lift."""
    chosen = rules[(rules["level"] == level) & (rules["segment"] == segment)].head(top_n)
    named = "antecedent_names" in chosen.columns
    return pd.DataFrame(
        {
            "if_bought": chosen["antecedent_names" if named else "antecedent"].to_numpy(),
            "also_bought": chosen["consequent_names" if named else "consequent"].to_numpy(),
            "rule_baskets": chosen["rule_baskets"].to_numpy(),
            "confidence": chosen["confidence"].to_numpy(),
            "lift": chosen["lift"].to_numpy(),
        }
    )


def segment_rules_for_page(rules: pd.DataFrame, segment_order: list[str]) -> pd.DataFrame:
    """Each RFM segment's strongest product rule (segments in the params' order; a segment without a
    rule is left out): what each group of customers buys together."""
    product = rules[(rules["level"] == "product") & (rules["segment"] != ALL_CUSTOMERS)]
    best = product.groupby("segment", sort=False).head(1).set_index("segment")
    order = [name for name in segment_order if name in best.index]
    best = best.loc[order]
    named = "antecedent_names" in best.columns
    return pd.DataFrame(
        {
            "segment": order,
            "if_bought": best["antecedent_names" if named else "antecedent"].to_numpy(),
            "also_bought": best["consequent_names" if named else "consequent"].to_numpy(),
            "rule_baskets": best["rule_baskets"].to_numpy(),
            "confidence": best["confidence"].to_numpy(),
            "lift": best["lift"].to_numpy(),
        }
    )


def rules_sentence(rules: pd.DataFrame, facts: dict, config: BasketConfig, language: str) -> str:
    """The strongest product rule on every basket in words, or why there is none."""
    mined = facts["product"][ALL_CUSTOMERS]
    if not mined["enough_baskets"]:
        return labels.t(
            "basket_too_few",
            language,
            baskets=formats.count(mined["baskets"]),
            needed=formats.count(config.min_baskets),
        )
    top = rules[(rules["level"] == "product") & (rules["segment"] == ALL_CUSTOMERS)]
    if top.empty:
        return labels.t(
            "basket_no_rules",
            language,
            baskets=formats.count(mined["baskets"]),
            lift=formats.number(config.min_lift),
            least=formats.count(config.min_rule_baskets),
        )
    rule = top.iloc[0]
    named = "antecedent_names" in top.columns
    return labels.t(
        "basket_strongest",
        language,
        orders=formats.count(rule["antecedent_baskets"]),
        antecedent=rule["antecedent_names" if named else "antecedent"],
        consequent=rule["consequent_names" if named else "consequent"],
        confidence=formats.share(rule["confidence"]),
        lift=formats.number(rule["lift"]),
        usual=formats.share(rule["consequent_baskets"] / rule["baskets"]),
    )


def next_best_sentence(best: pd.DataFrame, customers: int, language: str) -> str:
    """How many of ``customers`` have a product to offer next, and the product offered most often."""
    if best.empty:
        return labels.t("nbp_none", language)
    top = best["product_id"].value_counts()
    named = best.dropna(subset=["product_name"]) if "product_name" in best.columns else best.iloc[:0]
    lookup = dict(zip(named["product_id"], named["product_name"], strict=True))
    product = top.index[0]
    return labels.t(
        "nbp_found",
        language,
        customers=formats.count(len(best)),
        share=formats.share(len(best) / customers) if customers else formats.MISSING,
        product=f"{lookup[product]} ({product})" if product in lookup else product,
        count=formats.count(top.iloc[0]),
    )


def basket_sizes(items: ir.Table) -> pd.DataFrame:
    """Baskets by their number of distinct items (1, 2, 3, 4 or more), with their share: a rule needs
    baskets of two or more."""
    per_basket = items.group_by("basket_id").agg(items=items.item.count())
    size = ibis.least(per_basket["items"], 4)
    counted = per_basket.group_by(items_in_basket=size).agg(baskets=per_basket.count()).to_pandas()
    counted = counted.set_index("items_in_basket").reindex([1, 2, 3, 4], fill_value=0).reset_index()
    total = counted["baskets"].sum()
    counted["share_of_baskets"] = counted["baskets"] / total if total else 0.0
    counted["items_in_basket"] = counted["items_in_basket"].map({1: "1", 2: "2", 3: "3", 4: "4+"})
    return counted


def offers_for_page(best: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The products offered most often as the next best product, with the customers offered each."""
    key = ["product_id", "product_name"] if "product_name" in best.columns else ["product_id"]
    counted = best.groupby(key, dropna=False).size().rename("customers").reset_index()
    return counted.sort_values(["customers", "product_id"], ascending=[False, True]).head(top_n)


def mining_lines(facts: dict) -> list[str]:
    """One line per level for the analyst: the orders mined, the sample, the frequent itemsets."""
    lines = []
    for level, mined in facts.items():
        overall = mined[ALL_CUSTOMERS]
        sample = overall["sampled_baskets"]
        sampled = f", itemsets found on a sample of {sample:,}" if sample else ""
        lines.append(
            f"{level}: {overall['baskets']:,} orders{sampled}, {overall['itemsets']:,} frequent itemsets."
        )
    return lines
