"""The one label dictionary: every human word of the customer report and of its exports' data
dictionary, in English and Chinese. Column names, status words, section titles, sentences, the default
segments and cluster words all have their home here; a page or an export never shows a raw column name,
and a column missing from :data:`COLUMNS` is an error naming it rather than a silent ``snake_case``
heading.

Sentences are templates (``str.format`` fields in braces) in both languages under one key; numbers
come formatted by :mod:`helpers.formats` before they are put in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from helpers.config import STATUSES


@dataclass(frozen=True)
class Label:
    """A name as the page shows it, and what it means (for the data dictionary), in both languages."""

    en: str
    zh: str
    help_en: str = ""
    help_zh: str = ""

    def text(self, language: str) -> str:
        return self.zh if language == "zh" else self.en

    def help(self, language: str) -> str:
        return self.help_zh if language == "zh" else self.help_en


# ----------------------------------------------------------------------------------- columns

COLUMNS: dict[str, Label] = {
    "customer_id": Label(
        "Customer",
        "客户编号",
        "the customer's id as in the source (or its keyed hash when pseudonymisation is on)",
        "源数据中的客户编号（开启假名化时为其密钥哈希）",
    ),
    "segment": Label(
        "Segment", "客户分群", "RFM segment (the rule table in params)", "RFM 分群（规则见参数文件）"
    ),
    "engagement.active_days": Label(
        "Days with a visit",
        "有访问的天数",
        "days with a web, app or store visit",
        "有网站、应用或门店访问的天数",
    ),
    "engagement.days_since_last_visit": Label(
        "Days since the last visit",
        "距上次访问天数",
        "days from the last visit to the end of the period",
        "从最后一次访问到本期末的天数",
    ),
    "voice.latest_nps": Label(
        "Latest recommendation score",
        "最近一次推荐评分",
        "the customer's latest answer to the 0-10 recommendation question",
        "客户最近一次对 0-10 分推荐问题的回答",
    ),
    "voice.open_complaints": Label(
        "Open complaints",
        "未解决的投诉",
        "complaints not resolved by the end of the period",
        "截至本期末尚未解决的投诉",
    ),
    "if_bought": Label(
        "Bought", "已购商品", "the product(s) or category(ies) in the order", "订单中已有的商品或品类"
    ),
    "also_bought": Label(
        "Also in the order",
        "同单还买了",
        "what the same orders also held, more often than chance",
        "同一订单中超出偶然水平一起出现的商品或品类",
    ),
    "rule_baskets": Label(
        "Orders with both", "同时含两者的订单", "orders holding both", "同时含有两者的订单数"
    ),
    "confidence": Label(
        "Confidence",
        "置信度",
        "of the orders with what was bought, the share that also held the other",
        "含有已购商品的订单中，同时含有另一商品的比例",
    ),
    "lift": Label(
        "Lift",
        "提升度",
        "how many times more often the two are bought together than if they were unrelated (1: no link)",
        "两者一起购买的频率是互不相关时的几倍（1 表示没有关联）",
    ),
    "product_id": Label("Product", "商品编号", "the product's id as in the orders", "订单中的商品编号"),
    "product_name": Label(
        "Product name", "商品名称", "the product's name as in the orders", "订单中的商品名称"
    ),
    "because_bought": Label(
        "Because they bought",
        "因为已购买",
        "the products of the rule that the customer has already bought",
        "客户已购买的、规则中的商品",
    ),
    "offer": Label(
        "Offer",
        "推荐商品",
        "the product to offer (the next best product of the market basket stage)",
        "推荐给客户的商品（购物篮分析得出的下一个最佳商品）",
    ),
    "offer_name": Label("Offer (name)", "推荐商品名称", "the name of the product to offer", "推荐商品的名称"),
    "items_in_basket": Label(
        "Items in the order", "订单中的商品数", "distinct products in an order", "订单中不同商品的数量"
    ),
    "baskets": Label("Orders", "订单数", "orders (baskets)", "订单（购物篮）数"),
    "share_of_baskets": Label("Share of orders", "订单占比", "share of all orders", "占全部订单的比例"),
    "status": Label(
        "Status",
        "客户状态",
        "potential, new, active, at risk, lapsed or churned (the rules are on the report's page)",
        "潜在、新客、活跃、流失风险、沉寂或已流失（规则见报告页面）",
    ),
    "recency_days": Label(
        "Days since last order",
        "距上次下单天数",
        "days from the last order to the end of the period",
        "从最后一次下单到本期末的天数",
    ),
    "frequency_orders": Label(
        "Orders", "订单数", "number of distinct orders up to the end of the period", "截至本期末的订单数"
    ),
    "monetary_total": Label(
        "Total spend",
        "累计消费",
        "total net spend up to the end of the period (returns subtracted)",
        "截至本期末的累计净消费（已扣除退货）",
    ),
    "avg_order_value": Label(
        "Average order", "平均订单金额", "total spend divided by the number of orders", "累计消费除以订单数"
    ),
    "first_order_ts": Label(
        "First order", "首次下单", "date and time of the first order", "首次下单的日期和时间"
    ),
    "last_order_ts": Label(
        "Last order", "最近下单", "date and time of the last order", "最近一次下单的日期和时间"
    ),
    "tenure_days": Label(
        "Days since first order",
        "距首次下单天数",
        "days from the first order to the end of the period",
        "从首次下单到本期末的天数",
    ),
    "score": Label(
        "Score",
        "客户评分",
        "weighted customer score, 0 (worst) to 100 (best)",
        "加权客户评分，0（最差）到 100（最好）",
    ),
    "tier": Label("Tier", "等级", "score tier (A is best)", "评分等级（A 最好）"),
    "driver_1": Label(
        "Main driver",
        "首要因素",
        "the indicator that added most to the score (its column name)",
        "对评分贡献最大的指标（列名）",
    ),
    "driver_2": Label(
        "Second driver",
        "次要因素",
        "the indicator that added second most to the score (its column name)",
        "对评分贡献第二大的指标（列名）",
    ),
    "p_alive": Label(
        "Chance still a customer",
        "仍是客户的概率",
        "probability that the customer is still buying (purchase model)",
        "客户仍在购买的概率（购买模型）",
    ),
    "expected_purchases": Label(
        "Expected purchases",
        "预期购买次数",
        "expected number of purchases over the lifetime-value horizon",
        "在终身价值预测期内的预期购买次数",
    ),
    "clv": Label(
        "Expected value",
        "预期价值",
        "expected value of the customer's purchases over the horizon, discounted",
        "客户在预测期内购买的预期价值（已折现）",
    ),
    "typical_gap_days": Label(
        "Usual days between orders",
        "通常下单间隔天数",
        "the customer's average days between orders (the dataset's purchase cycle for one-order customers)",
        "客户平均的下单间隔天数（只下过一单的客户取数据集的购买周期）",
    ),
    "action_list": Label("List", "名单", "the action list", "行动名单"),
    "purpose": Label("Who is on it", "名单对象", "who the list holds", "名单包含哪些客户"),
    "to_contact": Label("To contact", "待联系", "customers of the list to contact", "名单中需联系的客户数"),
    "held_out": Label(
        "Held out",
        "对照组",
        "customers of the list held out (not to be contacted)",
        "名单中的对照组客户数（不联系）",
    ),
    "group": Label(
        "Group",
        "分组",
        "contact, or hold out: do not contact (a random share kept aside to measure the list's effect)",
        "联系，或对照组：请勿联系（随机留出的一部分客户，用于衡量名单效果）",
    ),
    "occasion_date": Label(
        "Occasion", "纪念日", "the birthday or anniversary in the next period", "下期内的生日或周年纪念日"
    ),
    "treated": Label(
        "Contacted or on the list", "名单组", "customers compared with the hold-out", "与对照组比较的客户数"
    ),
    "ordered_treated": Label(
        "Ordered again", "再次下单", "share of them who ordered in this period", "本期下单的比例"
    ),
    "ordered_held_out": Label(
        "Ordered again (held out)",
        "再次下单（对照组）",
        "share of the hold-out who ordered",
        "对照组下单比例",
    ),
    "ordered_difference_text": Label(
        "Difference (interval)",
        "差异（置信区间）",
        "difference in points and its interval",
        "差异（百分点）及置信区间",
    ),
    "revenue_treated": Label(
        "Revenue per customer", "人均收入", "this period's revenue per customer", "本期人均收入"
    ),
    "revenue_held_out": Label(
        "Revenue per customer (held out)",
        "人均收入（对照组）",
        "the hold-out's revenue per customer",
        "对照组人均收入",
    ),
    "active_treated": Label(
        "Active now",
        "现为活跃",
        "share of them whose status is active now",
        "现状态为活跃的比例",
    ),
    "active_held_out": Label(
        "Active now (held out)",
        "现为活跃（对照组）",
        "the hold-out's share active now",
        "对照组现为活跃的比例",
    ),
    "effect": Label(
        "Effect on ordering again",
        "对再次下单的效果",
        "whether the difference in ordering again is clear",
        "再次下单比例的差异是否明确",
    ),
    "revenue_effect": Label(
        "Effect on revenue",
        "对收入的效果",
        "whether the difference in revenue per customer is clear",
        "人均收入差异是否明确",
    ),
    "churn_risk": Label(
        "Churn risk",
        "流失风险",
        "chance of no order in the churn window, from the score that predicted churn best on a holdout",
        "在流失窗口内不再下单的概率，来自在留出数据上预测流失最准的评分",
    ),
    **{
        f"churn_driver_{i}": Label(
            f"Churn driver {i}",
            f"流失驱动因素 {i}",
            "a feature that raises the customer's churn risk most (its typical value would lower it)",
            "最推高该客户流失风险的特征（取典型值时风险会下降）",
        )
        for i in (1, 2, 3)
    },
    "churn_score": Label("Score", "评分"),
    "roc_auc": Label(
        "ROC AUC",
        "ROC AUC",
        "chance that a churner is ranked above a customer who ordered again (0.5: a coin toss)",
        "流失客户排在再次下单客户之前的概率（0.5 相当于随机）",
    ),
    "pr_auc": Label("PR AUC", "PR AUC", "average precision of the ranking", "排序的平均精确率"),
    "brier": Label(
        "Brier score",
        "Brier 分数",
        "mean squared gap between the probability and what happened (lower is better)",
        "概率与实际结果之差的平方均值（越低越好）",
    ),
    "churn_feature": Label("Feature", "特征"),
    "auc_drop": Label(
        "AUC lost when shuffled",
        "打乱后 AUC 下降",
        "how much the ROC AUC falls when the feature's values are shuffled",
        "打乱该特征取值后 ROC AUC 的下降",
    ),
    "value_at_stake": Label(
        "Value at stake",
        "潜在损失价值",
        "expected value lost: expected value over the horizon times the chance the customer has left "
        "(without a purchase model: a year at the customer's pace, at most what they spent per year)",
        "预期损失价值：预测期内的预期价值乘以客户已流失的概率（无购买模型时：按客户节奏一年的消费，"
        "最多为其每年实际消费）",
    ),
    "cluster_name": Label(
        "Cluster", "客户簇", "k-means cluster of similar customers", "k-means 聚类得到的相似客户群"
    ),
    "period_orders": Label(
        "Orders in the period", "本期订单数", "orders within the period", "本期内的订单数"
    ),
    "period_revenue": Label(
        "Spend in the period", "本期消费", "net spend within the period", "本期内的净消费"
    ),
    # summary tables
    "customers": Label("Customers", "客户数"),
    "share_of_customers": Label("Share of customers", "客户占比"),
    "share_of_revenue": Label("Share of revenue", "收入占比"),
    "share_of_spend": Label("Share of all spend", "累计消费占比"),
    "revenue": Label("Revenue", "收入"),
    "change": Label("Change", "变化"),
    "previous_customers": Label("Customers before", "上期客户数"),
    "rule": Label("Rule", "规则"),
    "meaning": Label("What it means", "含义"),
    "action": Label("What to do", "建议行动"),
    "median_recency_days": Label("Median days since last order", "距上次下单天数中位数"),
    "median_frequency_orders": Label("Median orders", "订单数中位数"),
    "median_monetary_total": Label("Median total spend", "累计消费中位数"),
    "recency_claim": Label("Its name says", "名称含义"),
    "check": Label("Checked", "核对结果"),
    "total_clv": Label("Expected value", "预期价值"),
    "mean_clv": Label("Expected value per customer", "人均预期价值"),
    "mean_p_alive": Label("Average chance still a customer", "平均仍是客户的概率"),
    "share_of_clv": Label("Share of expected value", "预期价值占比"),
    "outcome": Label("Rows", "数据行"),
    "rows": Label("Count", "行数"),
    "share": Label("Share", "占比"),
    "top": Label("Customers", "客户"),
    "file": Label("File", "文件", "the export file", "导出文件"),
    "column": Label("Column", "列", "the column's name in the file", "文件中的列名"),
    "label": Label("Label", "名称", "the column as the report names it", "报告中使用的名称"),
    "type": Label("Type", "类型", "the column's data type", "列的数据类型"),
    "description": Label("Description", "说明", "what the column holds", "该列的内容"),
    "source": Label("Source", "数据来源"),
    "rows_in": Label("Rows in", "输入行数"),
    "rows_kept": Label("Kept", "保留"),
    "rows_rejected": Label("Set aside", "剔除"),
    "why_set_aside": Label("Why set aside", "剔除原因"),
    # the voice of the customer (helpers.voice)
    "answers": Label("Answers", "回答数"),
    "promoters": Label("Promoters (9-10)", "推荐者（9-10）"),
    "detractors": Label("Detractors (0-6)", "贬损者（0-6）"),
    "nps": Label("NPS", "NPS", "promoters minus detractors, in points of 100", "推荐者减贬损者，百分点"),
    "nps_low": Label("Interval from", "区间下限"),
    "nps_high": Label("Interval to", "区间上限"),
    "category": Label("Category", "类别"),
    "complaints": Label("Complaints", "投诉数"),
    "open": Label("Open", "未解决"),
    "resolved": Label("Resolved", "已解决"),
    "median_days_to_resolve": Label("Median days to resolve", "解决天数中位数"),
    "repeat_complainers": Label("Customers with 2+ complaints", "投诉 2 次以上的客户"),
    "customer_group": Label("Group", "客户群"),
    "churned": Label("Churned", "流失客户数"),
    "churn_rate": Label("Churn rate", "流失率"),
}


def column(key: str, language: str) -> str:
    """A column's name as the page shows it; a column without a label is an error naming it."""
    if key not in COLUMNS:
        raise KeyError(f"column '{key}' has no label; add it to COLUMNS in helpers/labels.py.")
    return COLUMNS[key].text(language)


def indicator(name: str, language: str) -> str:
    """A score indicator's name: its label, or for another product's column (``customers.age``) the
    column's label, or its words."""
    if name in COLUMNS:
        return COLUMNS[name].text(language)
    column = name.partition(".")[2] or name
    return COLUMNS[column].text(language) if column in COLUMNS else column.replace("_", " ")


def headings(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The frame with every column renamed to its label (an unlabelled column is an error)."""
    return frame.rename(columns={c: column(c, language) for c in frame.columns})


# ------------------------------------------------------------------------------- the statuses

STATUS_WORDS: dict[str, Label] = {
    "potential": Label("potential", "潜在"),
    "new": Label("new", "新客"),
    "active": Label("active", "活跃"),
    "at risk": Label("at risk", "流失风险"),
    "lapsed": Label("lapsed", "沉寂"),
    "churned": Label("churned", "已流失"),
}
assert tuple(STATUS_WORDS) == STATUSES, "every status word has its label, in the vocabulary's order"


def status_customers(word: str, language: str) -> str:
    """The customers of a status as a card's title: "New customers", "活跃客户", and 新客户 (not 新客客户)."""
    text = t("kpi_status", language, status=status(word, language, capital=True))
    return text.replace("新客客户", "新客户")


def status(word: str, language: str, capital: bool = False) -> str:
    """A status as the page writes it ("at risk", "At risk", "流失风险")."""
    text = STATUS_WORDS[word].text(language)
    return text[:1].upper() + text[1:] if capital and language == "en" else text


# ------------------------------------------------------------------------------ the segments

# The default segments of params/defaults.yaml in Chinese: name, meaning, action. A segment table of
# one's own (rfm.segments) is shown as written in params.
SEGMENTS_ZH: dict[str, tuple[str, str, str]] = {
    "Champions": (
        "冠军客户",
        "最近购买、购买频繁且消费最多。",
        "奖励他们，让他们抢先体验新品，并邀请他们评价和推荐。",
    ),
    "Loyal Customers": (
        "忠诚客户",
        "定期购买、消费不错，而且不久前刚买过。",
        "提供会员或忠诚度计划，推荐更高价值的产品。",
    ),
    "Budding Loyalists": (
        "成长中的忠诚客户",
        "最近购买且不止一次，但消费还不多。",
        "推荐相关产品并邀请加入会员，把购买习惯变成忠诚。",
    ),
    "Recent First-Timers": (
        "近期首购客户",
        "最近购买，且至今只买过一次。",
        "欢迎他们，帮助他们上手，让第二次购买变得容易。",
    ),
    "Promising": ("值得培养客户", "只买过一次，购买时间较近。", "发送小额限时优惠，吸引他们再次购买。"),
    "Need Attention": (
        "需要关注客户",
        "买过不止一次但消费不多，且最近没有购买。",
        "在他们离开之前，根据以往购买推送个性化优惠。",
    ),
    "Can't Lose Them": (
        "不能失去的客户",
        "曾是最好的客户，购买频繁、消费最多，但已经很久没有购买。",
        "亲自挽回：询问原因，并提供有力的专属优惠。",
    ),
    "Fading Regulars": (
        "渐远常客",
        "买过多次、消费不错，但已经很久以前。",
        "在他们离开之前发送个性化的唤回信息和优惠。",
    ),
    "About To Sleep": (
        "即将沉睡客户",
        "购买少或消费少，最近一次购买已经有些时候了。",
        "用热门产品和适度折扣提醒他们，重新激发兴趣。",
    ),
    "Hibernating": (
        "冬眠客户",
        "很久以前买过一次，金额中等或较高。",
        "纳入低成本的相关优惠活动，不要投入太多。",
    ),
    "Long Gone": (
        "久远低值客户",
        "很久以前购买，消费最少。",
        "不纳入付费营销活动，最多发送一次低成本的唤回信息。",
    ),
}


def segment(name: str, language: str) -> str:
    """A segment's name in the page's language (a segment of one's own keeps its name)."""
    return SEGMENTS_ZH[name][0] if language == "zh" and name in SEGMENTS_ZH else name


def segment_text(name: str, meaning: str, action: str, language: str) -> tuple[str, str]:
    """A segment's meaning and action in the page's language."""
    if language == "zh" and name in SEGMENTS_ZH:
        return SEGMENTS_ZH[name][1], SEGMENTS_ZH[name][2]
    return meaning, action


# ------------------------------------------------------------------------------- the clusters

CLUSTER_WORDS_ZH = {  # clustering.WORDS and its other words, in Chinese
    "lower spend": "消费较低",
    "higher spend": "消费较高",
    "recent": "近期购买",
    "cooling": "渐冷",
    "dormant": "久未购买",
    "one-off": "单次",
    "occasional": "偶尔购买",
    "frequent": "频繁购买",
    "low spend": "低消费",
    "mid spend": "中等消费",
    "high spend": "高消费",
    "average": "一般",
    "all customers": "全部客户",
}
FEATURE_WORDS_ZH = {  # clustering.feature_words of the usual features, in Chinese
    "region": "地区",
    "gender": "性别",
    "age": "年龄",
    "income band": "收入档",
    "acquisition channel": "获客渠道",
    "top category": "最感兴趣的品类",
    "sessions": "访问次数",
    "active days": "活跃天数",
    "latest nps": "最近 NPS",
    "open complaints": "未解决投诉",
    "complaints": "投诉",
}


def _cluster_word(word: str) -> str:
    """One word of a cluster's name in Chinese: "region mostly West" -> "地区多为 West", "high sessions"
    -> "访问次数高"."""
    if word in CLUSTER_WORDS_ZH:
        return CLUSTER_WORDS_ZH[word]
    if mostly := re.fullmatch(r"(.+?) mostly (.+)", word):
        return f"{FEATURE_WORDS_ZH.get(mostly[1], mostly[1])}多为 {mostly[2]}"
    if level := re.fullmatch(r"(high|low) (.+)", word):
        return FEATURE_WORDS_ZH.get(level[2], level[2]) + ("高" if level[1] == "high" else "低")
    return word


def cluster(name: str, language: str) -> str:
    """A cluster's name ("recent, frequent, high spend") in the page's language, word by word, with
    what tells repeated names apart ("(lower spend)", "(spend 2 of 3)")."""
    if language != "zh":
        return name
    base, bracket, apart = name.partition(" (")
    words = [_cluster_word(word.strip()) for word in base.split(",")]
    apart = apart.rstrip(")")
    ranked = re.fullmatch(r"spend (\d+) of (\d+)", apart)
    apart = f"消费第 {ranked[1]} 档（共 {ranked[2]} 档）" if ranked else CLUSTER_WORDS_ZH.get(apart, apart)
    return "、".join(words) + (f"（{apart}）" if bracket else "")


# ------------------------------------------------------------------------- data-quality reasons

# Every outcome of a source row as the report's data-quality table names it (helpers.cleaning describes
# the reasons for analysts, naming its settings): English, Chinese.
REASONS: dict[str, tuple[str, str]] = {
    "kept": ("Kept: clean rows used by every later stage", "保留：后续所有步骤使用的干净数据行"),
    "malformed_line": (
        "A line that cannot be split into its columns (a quote that never closes, too many or too few "
        "fields): only its line number is kept",
        "无法拆分成各列的行（引号未闭合、字段过多或过少）：只保留其行号",
    ),
    "missing_customer_id": ("No customer id (empty or missing)", "没有客户编号（空值或缺失值）"),
    "unparseable_timestamp": (
        "Order date missing or in none of the expected formats",
        "下单日期缺失，或不符合任何预期的格式",
    ),
    "invalid_amount": (
        "Amount missing, not a number, or implausibly large (10^14 or more)",
        "金额缺失、不是数字，或大得不合理（10^14 及以上）",
    ),
    "zero_amount": ("Amount is exactly zero", "金额恰好为零"),
    "before_history_start": ("Order before the start of the history", "下单时间早于历史起点"),
    "after_as_of": (
        "Order after the end of the period (kept for a later period, not an error)",
        "下单时间晚于本期末（留给以后的期间，不是错误）",
    ),
    "other_currency": ("Amount in a currency other than the report's", "金额不是报告货币"),
    "return": ("A return or cancellation, set aside by the returns setting", "退货或取消，按退货设置剔除"),
    "duplicate": ("Exact repeat of an earlier row", "与之前某行完全重复"),
    "implausible_amount": (
        "Amount far beyond every other (a typing error, not an order)",
        "金额远超其他所有金额（输入错误，不是订单）",
    ),
    "extreme_amount": ("Amount above the extreme-value threshold, set aside", "金额超过极端值阈值，已剔除"),
    "total": ("All rows of the source", "源数据的全部行"),
}


# The sources as pages name them (helpers.schema: each kind's canonical columns).
SOURCE_TITLES: dict[str, tuple[str, str]] = {
    "transactions": ("Orders", "订单"),
    "customers": ("Customers", "客户"),
    "events": ("Behaviour events", "行为事件"),
    "interactions": ("Contacts", "联系记录"),
    "feedback": ("Feedback", "反馈"),
    "leads": ("Sales leads", "销售线索"),
}
# The reasons of the other sources, worded for any row (REASONS speaks of orders), where they differ.
SOURCE_REASONS: dict[str, tuple[str, str]] = {
    "unparseable_timestamp": (
        "Date missing or in none of the expected formats",
        "日期缺失，或不符合任何预期的格式",
    ),
    "before_history_start": ("Dated before the start of the history", "日期早于历史起点"),
    "after_as_of": (
        "Dated after the end of the period (kept for a later period, not an error)",
        "日期晚于本期末（留给以后的期间，不是错误）",
    ),
    "missing_identity": ("Neither a customer id nor an anonymous id", "既没有客户编号也没有匿名编号"),
    "missing_lead_id": ("No lead id", "没有线索编号"),
    "unknown_event_type": ("Event type missing or not a known type", "事件类型缺失，或不是已知类型"),
    "unknown_channel": ("Channel missing or not a known channel", "渠道缺失，或不是已知渠道"),
    "unknown_direction": ("Direction neither inbound nor outbound", "方向既不是呼入也不是呼出"),
    "unknown_kind": ("Not a survey answer, a complaint or a review", "不是调查、投诉或评价"),
    "unknown_scale": ("Score on an unknown scale", "评分量表未知"),
    "unknown_stage": ("Stage missing or not a stage of the pipeline", "阶段缺失，或不是销售流程中的阶段"),
    "unknown_outcome": ("Outcome neither won, lost nor open", "结果不是赢单、输单或进行中"),
    "invalid_score": (
        "Score not a number, without a scale or outside it",
        "评分不是数字、没有量表或超出量表范围",
    ),
    "duplicate_customer": (
        "A second row for a customer already listed (the first is kept)",
        "同一客户的第二行（保留第一行）",
    ),
    "unknown_customer": (
        "Customer id found in no other source, set aside by the settings",
        "客户编号在其他来源中都不存在，按设置剔除",
    ),
}


def source_title(kind: str, language: str) -> str:
    """A source kind as pages name it."""
    english, chinese = SOURCE_TITLES[kind]
    return chinese if language == "zh" else english


def source_reason(kind: str, code: str, description: str, language: str) -> str:
    """A reject reason of a source as the page names it: the order wording for orders, the general
    wording for the other sources (the cleaning stage's description for a reason not listed)."""
    if kind != "transactions" and code in SOURCE_REASONS:
        return SOURCE_REASONS[code][1] if language == "zh" else SOURCE_REASONS[code][0]
    return reason(code, description, language)


def reason(code: str, description: str, language: str) -> str:
    """A data-quality outcome (kept, a reject reason, total) as the page names it (a reason the
    dictionary does not know yet: the cleaning stage's description)."""
    if code in REASONS:
        return REASONS[code][1] if language == "zh" else REASONS[code][0]
    return description[:1].upper() + description[1:]


# ------------------------------------------------------------------------------ the sentences

# Proper names a Chinese page keeps as they are (model names, file formats, abbreviations).
# Stage 04 (behaviour events and sales leads): its sentences, and the columns its report tables show.
BEHAVIOUR_TEXT: dict[str, tuple[str, str]] = {
    "section_behaviour": ("Behaviour", "行为"),
    "section_pipeline": ("Sales pipeline", "销售管道"),
    "step_page_view": ("page view", "浏览页面"),
    "step_product_view": ("product view", "浏览商品"),
    "step_search": ("search", "搜索"),
    "step_add_to_cart": ("add to cart", "加入购物车"),
    "step_remove_from_cart": ("remove from cart", "移出购物车"),
    "step_checkout": ("checkout", "结账"),
    "step_purchase": ("purchase", "购买"),
    "step_store_visit": ("store visit", "到店"),
    "step_app_open": ("app open", "打开应用"),
    "step_login": ("sign in", "登录"),
    "step_signup": ("sign up", "注册"),
    "channel_web": ("web", "网站"),
    "channel_app": ("app", "应用"),
    "channel_store": ("store", "门店"),
    "channel_all": ("all channels", "全部渠道"),
    "behaviour_intro": (
        "How the period's visits to the web shop and the app went from a product view to a purchase: the "
        "bars count the visits that reached each step in order, and the table gives each channel's "
        "conversion and drop-off per step.",
        "本期网站和应用的访问从浏览商品到购买的过程：柱形为按顺序"
        "到达各步骤的访问数，表格给出各渠道每一步的转化率和流失率。",
    ),
    "sessions_sentence": (
        "{sessions} visits up to {as_of} ({period_sessions} of them started in the period, by "
        "{visitors} visitors); a visit is {rule}.",
        "截至 {as_of} 共 {sessions} 次访问（其中 {period_sessions}"
        " 次始于本期，来自 {visitors} 位访客）；{rule}。",
    ),
    "session_rule_gap": (
        "a run of one visitor's events on one channel without a pause longer than {minutes} minutes",
        "一次访问指同一访客在同一渠道上间隔不超过 {minutes} 分钟的连续行为",
    ),
    "session_rule_given": (
        "the source's session where it gives one, else a run of one visitor's events on one channel "
        "without a pause longer than {minutes} minutes",
        "一次访问以源数据的会话编号为准；没有编号时，指同一访客在"
        "同一渠道上间隔不超过 {minutes} 分钟的连续行为",
    ),
    "funnel_drop": (
        "The largest drop of the period's visits is from {before} to {after}: {share} of the {sessions} "
        "visits that reached {before} went no further.",
        "本期访问流失最多的一步是从{before}到{after}：到达{before}"
        "的 {sessions} 次访问中有 {share} 没有继续。",
    ),
    "funnel_drop_channel": (
        "By channel, the largest drop on the {channel} is from {before} to {after} ({share} of {sessions} "
        "visits).",
        "按渠道看，{channel}流失最多的一步是从{before}到{after}（{sessions} 次访问中的 {share}）。",
    ),
    "funnel_empty": (
        "No visit of the period reached the funnel's first step ({step}): there is no drop to name.",
        "本期没有访问到达漏斗的第一步（{step}），因此没有流失可言。",
    ),
    "funnel_chart_title": ("Visits reaching each step (period)", "到达各步骤的访问数（本期）"),
    "funnel_axis": ("visits", "访问次数"),
    "funnel_chart_note": (
        "Each bar: the period's visits that reached the step in order; the percentage after a count is "
        "the share of the step before that was lost.",
        "每根柱：本期按顺序到达该步骤的访问数；数字后的百分比为上一步流失的比例。",
    ),
    "activity_title": ("Visits by weekday and hour (period)", "按星期和小时的访问数（本期）"),
    "activity_hour": ("hour of the day", "小时"),
    "activity_colour": ("visits", "访问次数"),
    "activity_busiest": (
        "The busiest hour of the period is {weekday} {hour}:00-{hour}:59 ({sessions} visits started then); "
        "times are the dataset's local time ({timezone}).",
        "本期最繁忙的时段是{weekday} {hour}:00-{hour}:59（"
        "{sessions} 次访问）；时间为数据集的当地时间（{timezone}）。",
    ),
    "activity_none": ("No visit started in the period.", "本期没有访问。"),
    "weekday_0": ("Mon", "周一"),
    "weekday_1": ("Tue", "周二"),
    "weekday_2": ("Wed", "周三"),
    "weekday_3": ("Thu", "周四"),
    "weekday_4": ("Fri", "周五"),
    "weekday_5": ("Sat", "周六"),
    "weekday_6": ("Sun", "周日"),
    "search_low": (
        "{count} of the most searched terms convert poorly (searched at least {min} times, their visits "
        "bought at less than half the rate of all visits, {rate}): {terms}.",
        "{count} 个热门搜索词转化偏低（至少被搜索 {min} 次，其访"
        "问的购买率不到全部访问购买率 {rate} 的一半）：{terms}。",
    ),
    "search_none_low": (
        "No search term searched at least {min} times converts at less than half the rate of all visits "
        "({rate}).",
        "被搜索至少 {min} 次的搜索词中，没有一个的购买率低于全部访问购买率（{rate}）的一半。",
    ),
    "search_none": ("Nobody searched in the period.", "本期没有搜索。"),
    "region_sentence": (
        "{region} customers' share of {category} is {ratio} times that of the other regions in order "
        "lines ({share} against {others}) and {view_ratio} times in product views.",
        "{region}地区客户的{category}占比在订单行中是其他地区的 {ratio} "
        "倍（{share} 对 {others}），在商品浏览中是 {view_ratio} 倍。",
    ),
    "region_lines_sentence": (
        "{region} customers' share of {category} in order lines is {ratio} times that of the other "
        "regions ({share} against {others}).",
        "{region}地区客户的{category}在订单行中的占比是其他地区的 {ratio} 倍（{share} 对 {others}）。",
    ),
    "region_views_sentence": (
        "{region} customers' share of {category} product views is {view_ratio} times that of the other "
        "regions ({share} against {others}).",
        "{region}地区客户浏览{category}商品的占比是其他地区的 {view_ratio} 倍（{share} 对 {others}）。",
    ),
    "pipeline_bottleneck_same": (
        "The bottleneck is {stage}: of the leads that entered it, {share} moved on (the lowest "
        "conversion of any stage), after a median of {days} (the longest wait).",
        "瓶颈在{stage}阶段：进入该阶段的线索中只有 {share}"
        " 进入下一阶段（各阶段中最低），中位等待 {days}（最长）。",
    ),
    "pipeline_bottleneck_split": (
        "The lowest conversion is at {stage} ({share} of its leads moved on); the longest wait is at "
        "{slow_stage} (median {days}).",
        "转化率最低的是{stage}阶段（{share} 的线索进入下一阶段"
        "）；等待最久的是{slow_stage}阶段（中位 {days}）。",
    ),
    "pipeline_too_few": (
        "Too few leads to name a bottleneck: a stage's conversion is compared from {min} leads old enough "
        "to have moved on; {count} stages have that many, and two are needed.",
        "线索太少，无法指出瓶颈：一个阶段的转化率需要至少 {min} 条足够早进入的线索才参与比较，"
        "达到这一数量的阶段有 {count} 个（至少需要两个）。",
    ),
    "pipeline_too_few_one": (
        "Too few leads to name a bottleneck: a stage's conversion is compared from {min} leads old enough "
        "to have moved on; only {count} stage has that many, and two are needed.",
        "线索太少，无法指出瓶颈：一个阶段的转化率需要至少 {min} 条足够早进入的线索才参与比较，"
        "达到这一数量的阶段有 {count} 个（至少需要两个）。",
    ),
    "pipeline_no_rate": (
        "No stage has leads old enough to judge its conversion yet: there is no bottleneck to name.",
        "尚无足够早进入的线索来判断各阶段转化率，因此无法指出瓶颈。",
    ),
    "pipeline_rule": (
        "A stage's conversion counts only the leads that entered it at least its decision time before "
        "the end of the period (the days within which 95% of the leads that moved on did so); more "
        "recent leads have not had the time yet and are not counted as lost.",
        "各阶段转化率只计入在期末前至少一个“决策时间”（95% 进入下一阶段的"
        "线索所用的天数）进入该阶段的线索；较新的线索尚未有足够时间，不计为流失。",
    ),
    "pipeline_open_value": (
        "Open leads: {count}, expected value {value}, weighted by each stage's chance to win {weighted}.",
        "未结线索 {count} 条，预期价值 {value}，按各阶段赢单概率加权为 {weighted}。",
    ),
    "behaviour_small_hidden": (
        "Groups of fewer than {min} customers are not shown.",
        "少于 {min} 位客户的组不予显示。",
    ),
}

BEHAVIOUR_COLUMNS: dict[str, Label] = {
    "visit_channel": Label(
        "Channel", "渠道", "where the visits happened (web, app)", "访问发生的渠道（网站、应用）"
    ),
    "step": Label("Step", "步骤", "a step of the browse-to-buy funnel", "浏览到购买漏斗的一个步骤"),
    "sessions": Label(
        "Visits", "访问次数", "visits (sessions) that reached the step", "到达该步骤的访问次数"
    ),
    "conversion": Label(
        "Conversion", "转化率", "share of the step before that reached this one", "上一步到达本步的比例"
    ),
    "drop_off": Label(
        "Drop-off", "流失率", "share of the step before that went no further", "上一步未继续的比例"
    ),
    "pipeline_stage": Label("Stage", "阶段", "a stage of the sales pipeline", "销售管道的一个阶段"),
    "entered_in_period": Label(
        "Leads entering in the period",
        "本期进入的线索",
        "leads that entered the stage in the period",
        "本期进入该阶段的线索数",
    ),
    "stage_conversion": Label(
        "Moved on (all leads to date)",
        "进入下一阶段（迄今所有线索）",
        "share of the stage's leads since the data begin, old enough to have moved on, that reached a "
        "later stage",
        "数据开始以来该阶段足够早进入的线索中进入后续阶段的比例",
    ),
    "median_days": Label(
        "Median days in stage",
        "阶段中位天数",
        "median days to the next stage of the leads that moved on (all leads to date)",
        "进入下一阶段的线索在本阶段停留的中位天数（迄今所有线索）",
    ),
    "open_leads": Label("Open leads", "未结线索", "open leads now in the stage", "当前处于该阶段的未结线索"),
    "weighted_open_value": Label(
        "Weighted open value",
        "加权未结价值",
        "open leads' expected value times the chance to win from the stage",
        "未结线索的预期价值乘以该阶段的赢单概率",
    ),
}


PROPER_NAMES = (
    "RFM",
    "CLV",
    "CRM",
    "BG/NBD",
    "MBG/NBD",
    "Pareto/NBD",
    "Gamma-Gamma",
    "k-means",
    "CSV",
    "Excel",
    "ROC AUC",
    "PR AUC",
    "Brier",
)

TEXT: dict[str, tuple[str, str]] = {
    # the page
    "report_title": ("Customer report", "客户报告"),
    "all_reports": ("All reports", "全部报告"),
    "back_to_report": ("← Customer report", "← 客户报告"),
    "period_line": ("{title} · {start} to {end}.", "{title} · {start}至{end}。"),
    "contents": ("Contents", "目录"),
    "no_orders": (
        "Nobody ordered from {start} to {end}; the last order before was on {last}. The statuses, "
        "segments and lists below describe the customers as they stood at the end of the period.",
        "{start}至{end}期间没有任何订单；此前最后一笔订单在"
        "{last}。以下状态、分群和名单描述的是客户在本期末的情况。",
    ),
    "no_orders_then_more": (
        "Nobody ordered from {start} to {end}; the last order before was on {last}, and the data holds "
        "{rows} rows after the period. The statuses, segments and lists below describe the customers as "
        "they stood at the end of the period.",
        "{start}至{end}期间没有任何订单；此前最后一笔订单在{last}，本期之后数据中还有 {rows} 行。"
        "以下状态、分群和名单描述的是客户在本期末的情况。",
    ),
    "purpose": (
        "Who our customers are, which of them matter most and which are slipping away, from the order "
        "data up to {end}.",
        "基于截至{end}的订单数据：我们的客户是谁、哪些最重要、哪些正在流失。",
    ),
    # comparisons (helpers.catalog.compared_period gives the reason and its values)
    "comparison_none": (
        "This period is not compared with another (compare_with is null).",
        "本期不与其他期间比较。",
    ),
    "comparison_not_built": (
        "The period to compare with, {label}, has not been built yet, so no changes are shown.",
        "用于比较的期间 {label} 尚未生成，因此不显示变化。",
    ),
    "comparison_ids_differ": (
        "{label} was built with customer ids {other} and this period with ids {this}, so the two cannot "
        "be compared and no changes are shown.",
        "{label} 与本期的客户编号处理方式不同，无法比较，因此不显示变化。",
    ),
    "comparison_earlier_ids_differ": (
        "The earlier periods of {title} that have been built keep customer ids {other}, unlike this one, "
        "so no changes are shown.",
        "{title} 已生成的早期期间与本期的客户编号处理方式不同，因此不显示变化。",
    ),
    "comparison_none_built": (
        "No earlier period of {title} has been built, so no changes are shown.",
        "{title} 的早期期间尚未生成，因此不显示变化。",
    ),
    "comparison_first": (
        "This is the first period of {title}: changes appear from the next period on.",
        "这是 {title} 的第一个期间：从下一期开始显示变化。",
    ),
    "comparison_explicit": ("Compared with {label}.", "与 {label} 比较。"),
    "comparison_latest": (
        "Compared with {label}, the latest earlier period of {title}.",
        "与 {title} 最近的早期期间 {label} 比较。",
    ),
    # sections
    "section_headline": ("Headline numbers", "核心指标"),
    "section_trend": ("Trend", "趋势"),
    "section_status": ("Customer status", "客户状态"),
    "section_segments": ("Segments", "客户分群"),
    "section_migration": ("Segment migration", "分群迁移"),
    "section_clusters": ("Clusters", "客户聚类"),
    "section_basket": ("Bought together", "一起购买的商品"),
    "personas_intro": (
        "Each cluster as a persona, from everything the period knows about its customers (medians of "
        "the customers in it; shares of those with a known value). Who they are names what sets them "
        "apart: a trait held by at least {share} of the cluster and by at least {ratio} times as large a "
        "share as among all customers:",
        "把每个客户簇描述为一个用户画像，依据本期掌握的全部客户信息（簇内客户的中位数；比例按已知取值的客户计算）。"
        "“他们是谁”只列出使他们与众不同的特征：簇内至少 {share} 的客户具有、"
        "且比例至少是全体客户中 {ratio} 倍的特征：",
    ),
    "persona_title": (
        "{name}: {customers} customers ({share} of customers, {spend} of spend)",
        "{name}：{customers} 位客户（占客户 {share}，占消费 {spend}）",
    ),
    "persona_who": ("Who they are: {parts}.", "他们是谁：{parts}。"),
    "persona_age": ("aged {band} ({share})", "年龄 {band}（{share}）"),
    "persona_gender": ("{value} ({share})", "{value}（{share}）"),
    "persona_region": ("from the {value} region ({share})", "来自{value}地区（{share}）"),
    "persona_acquisition_channel": ("came through {value} ({share})", "通过{value}获得（{share}）"),
    "persona_gender_F": ("women", "女性"),
    "persona_gender_M": ("men", "男性"),
    "persona_against": ("{share}, against {overall} of all customers", "{share}，全体客户中为 {overall}"),
    "persona_alike": ("like customers overall in {traits}", "{traits}与全体客户相近"),
    "persona_trait_age_band": ("age", "年龄"),
    "persona_trait_gender": ("gender", "性别"),
    "persona_trait_region": ("region", "地区"),
    "persona_trait_acquisition_channel": ("acquisition channel", "获客渠道"),
    "persona_behave": ("How they behave: {parts}.", "他们的行为：{parts}。"),
    "persona_orders": ("{count} orders, the last {days} ago", "下单 {count} 次，最近一次在 {days}前"),
    "persona_orders_one": ("{count} order, {days} ago", "下单 {count} 次，在 {days}前"),
    "persona_sessions": ("{count} visits", "访问 {count} 次"),
    "persona_sessions_one": ("{count} visit", "访问 {count} 次"),
    "persona_no_visits": ("most made no visit", "多数没有访问"),
    "persona_channel": ("mostly by {channel} ({share} of visits)", "主要通过{channel}（占访问 {share}）"),
    "persona_category": ("most interested in {category} ({share})", "最感兴趣的品类是{category}（{share}）"),
    "persona_worth": (
        "What they are worth: {spend} spent in all, {order} an order{clv}.",
        "他们的价值：累计消费 {spend}，每单 {order}{clv}。",
    ),
    "persona_clv": (", {clv} expected over the next year", "，预计未来一年 {clv}"),
    "persona_channel_web": ("the web", "网站"),
    "persona_channel_app": ("the app", "应用"),
    "persona_channel_store": ("the shops", "门店"),
    "persona_say": ("What they say: {parts}.", "他们的声音：{parts}。"),
    "persona_nps": ("NPS {nps} ({answers} answers)", "NPS {nps}（{answers} 份回答）"),
    "persona_complaints": ("{share} with an open complaint", "{share} 有未解决的投诉"),
    "persona_action": (
        "What to do: most are {segment} ({share}): {action}",
        "怎么做：多数属于{segment}（{share}）：{action}",
    ),
    "persona_action_largest": (
        "What to do: the largest group ({share}) are {segment}: {action}",
        "怎么做：最大的一群（{share}）属于{segment}：{action}",
    ),
    "basket_intro": (
        'Which products the same orders hold more often than chance would give: each row reads "orders '
        'with the first also held the second". Confidence is the share of the orders with the first that '
        "held the second; lift says how many times more often that happens than for orders in general.",
        "哪些商品在同一订单中出现的频率高于偶然水平：每一行读作“含有前者的订单也含有后者”。置信度是含有前者的订单中"
        "同时含有后者的比例；提升度表示这一比例是所有订单中该比例的几倍。",
    ),
    "basket_strongest": (
        "Of the {orders} orders with {antecedent}, {confidence} also held {consequent}: {lift} times as "
        "often as orders in general ({usual}).",
        "在含有{antecedent}的 {orders} "
        "笔订单中，{confidence}同时含有{consequent}，是所有订单中这一比例（{usual}）"
        "的 {lift} 倍。",
    ),
    "basket_no_rules": (
        "In {baskets} orders, no products are bought together at least {lift} times as often as chance "
        "would give in at least {least} orders.",
        "在 {baskets} 笔订单中，没有哪些商品在至少 {least} 笔订单中以偶然水平 {lift} "
        "倍以上的频率一起被购买。",
    ),
    "basket_too_few": (
        "Only {baskets} orders with products: too few to tell which products go together (at least "
        "{needed}).",
        "含商品的订单只有 {baskets} 笔，太少，无法判断哪些商品会一起购买（至少需要 {needed} 笔）。",
    ),
    "basket_segments_intro": (
        "The strongest rule within each segment's orders:",
        "各分群订单中最强的关联规则：",
    ),
    "basket_categories_intro": (
        "The same between product categories:",
        "品类之间的关联：",
    ),
    "nbp_found": (
        "{customers} customers ({share}) have a product to offer next: the strongest rule whose first part "
        "they bought and whose product they never bought. Offered most often: {product} ({count} customers).",
        "{customers} "
        "位客户（{share}）有可推荐的下一个商品：他们已购买规则的前项、但从未买过其推荐商品的最强规则。"
        "推荐最多的是 {product}（{count} 位客户）。",
    ),
    "nbp_none": (
        "No customer has a product to offer next: no rule fits what a customer bought and has not bought.",
        "没有客户有可推荐的下一个商品：没有规则与客户已购和未购的商品相符。",
    ),
    "section_clv": ("Lifetime value", "终身价值"),
    "section_churn": ("Churn risk", "流失风险"),
    # the churn model (helpers.churn)
    "churn_not_short": (
        "Churn risk is not estimated this period: a {window}-day churn window needs history from {cut}, two "
        "windows before {end}, and the first order was on {first}.",
        "本期未估计流失风险：{window} 天的流失窗口需要从 {cut} 起的历史（{end} 之前两个窗口），而首笔订单在 "
        "{first}。",
    ),
    "churn_not_few": (
        "Churn risk is not estimated this period: on {cut}, {customers} customers had bought, of whom "
        "{churned} "
        "placed no order in the next {window} days and {stayed} did; a fair test needs at least "
        "{min_customers} "
        "customers and {min_churners} of each kind.",
        "本期未估计流失风险：截至 {cut} 有 {customers} 位客"
        "户下过单，其中 {churned} 位在之后 {window} 天内未再"
        "下单，{stayed} 位再次下单；可靠的检验至少需要 {min_customers} 位客户且两类各 {min_churners} 位。",
    ),
    "churn_holdout_intro": (
        "A customer churned when they placed no order in the {window} days after a date. Each score below "
        "ranked the {customers} customers who had bought by {cut} by their risk, from what was known that "
        "day; {churned} of them ({share}) then placed no order up to {end}.",
        "客户在某日之后 {window} 天内未再下单即视为流失。下列"
        "每种评分仅凭 {cut} 当天已知的信息，为截至该日下过单的 "
        "{customers} 位客户排序；其中 {churned} 位（{share}）在 {end} 前未再下单。",
    ),
    "churn_sampled": (
        "They are a seeded sample of {customers} of the {population} customers who had bought by {cut} "
        "(churn.fit_sample_above); every customer is still given a churn risk below.",
        "他们是截至 {cut} 下过单的 {population} 位客户中按固定种子抽取的 {customers} 位样本"
        "（churn.fit_sample_above）；下方仍为每位客户给出流失风险。",
    ),
    "churn_best": (
        "{best} predicts churn best on this dataset: it ranks a churner above a customer who ordered again "
        "{auc} of the time (ROC AUC), against {recency_auc} for the days since the last order alone "
        "(+{gain}). It gives the churn risk and orders the churn warning.",
        "在本数据集上 {best} 预测流失最准：它将流失客户排在再次下单客户之前的概率为 {auc}（ROC AUC），"
        "仅用距上次下单天数为 {recency_auc}（高出 {gain}）。流失风险及流失预警的排序均取自它。",
    ),
    "churn_forced": (
        "The churn risk follows {chosen}, chosen for this dataset: ROC AUC {auc}, against {recency_auc} for "
        "the "
        "days since the last order alone; {best} reaches {best_auc}.",
        "流失风险取自为本数据集选定的 {chosen}：ROC AUC 为 {auc}，仅用距上次下单天数为 {recency_auc}；{best} "
        "为 {best_auc}。",
    ),
    "churn_recency": (
        "No other score beats the days since the last order on this dataset: they rank a churner above a "
        "customer who ordered again {recency_auc} of the time (ROC AUC); the best other, {best}, reaches "
        "{best_auc}. The churn risk is the share of customers with as many days since their last order who "
        "churned in the window before.",
        "在本数据集上没有其他评分优于距上次下单天数：它将流失客户排在再次下单客户之前的概率为 {recency_auc}"
        "（ROC AUC）；其余最好的 {best} 为 {best_a"
        "uc}。流失风险取上一个窗口中距上次下单天数相同的客户的流失比例。",
    ),
    "churn_recency_set": (
        "The churn risk follows the days since the last order, chosen for this dataset (ROC AUC "
        "{recency_auc}); "
        "{best} reaches {best_auc}. The risk is the share of customers with as many days since their last "
        "order who churned in the window before.",
        "流失风险取自为本数据集选定的距上次下单天数（ROC AUC {rece"
        "ncy_auc}）；{best} 为 {best_auc}。风险取上一个"
        "窗口中距上次下单天数相同的客户的流失比例。",
    ),
    "churn_worse_than_chance": (
        "{score} ranks churners worse than a coin toss ({auc}): it is not a churn risk on this dataset.",
        "{score} 对流失客户的排序不如随机（{auc}）：在本数据集上它不能作为流失风险。",
    ),
    "churn_reliability": (
        "The reliability chart sets each score's predicted probability against the share who churned: on "
        "the diagonal a probability can be taken at its word. The days since the last order become a "
        "probability through the churn share at each number of days one window earlier; 1 - P(alive) is the "
        "chance of having left, not of no order in the window.",
        "可靠性图将每种评分的预测概率与实际流失比例对照：落在"
        "对角线上的概率可以直接采信。距上次下单天数通过前一个"
        "窗口中各天数的流失比例转为概率；“1 减去仍是客户的概率”是已流失的概率，而不是窗口内不下单的概率。",
    ),
    "churn_reliability_title": ("Predicted churn against what happened", "预测流失与实际结果"),
    "churn_reliability_x": ("predicted probability of churn", "预测流失概率"),
    "churn_reliability_y": ("share who churned", "实际流失比例"),
    "churn_drivers": (
        "What drives churn in the gradient boosting, by how much its ROC AUC falls when one feature is "
        "shuffled:",
        "梯度提升模型中推动流失的因素（按打乱单个特征后 ROC AUC 的下降排序）：",
    ),
    "churn_gradient_boosting": (
        "gradient boosting on what is known of the customer",
        "基于客户已知信息的梯度提升",
    ),
    "churn_btyd_p_alive": ("1 - P(alive) of the purchase model", "购买模型的 1 减去仍是客户的概率"),
    "churn_btyd_no_purchase": (
        "the purchase model's chance of no order in the window",
        "购买模型给出的窗口内不下单概率",
    ),
    "churn_recency_days": ("days since the last order", "距上次下单天数"),
    "feature_recency_days": ("days since the last order", "距上次下单天数"),
    "feature_tenure_days": ("days since the first order", "距首次下单天数"),
    "feature_orders": ("orders", "订单数"),
    "feature_spend": ("spend", "消费额"),
    "feature_avg_order_value": ("average order value", "平均订单金额"),
    "feature_mean_gap_days": ("days between orders", "下单间隔天数"),
    "feature_orders_recent": ("orders in the last {days} days", "最近 {days} 天订单数"),
    "feature_events_recent": (
        "events (visits, views, searches) in the last {days} days",
        "最近 {days} 天行为事件数",
    ),
    "feature_active_days_recent": ("active days in the last {days} days", "最近 {days} 天活跃天数"),
    "feature_contacts": ("contacts", "联系次数"),
    "feature_days_since_contact": ("days since the last contact", "距上次联系天数"),
    "feature_open_complaints": ("open complaints", "未解决投诉数"),
    "feature_survey_score": ("latest survey score", "最近调查得分"),
    "feature_age_band": ("age band", "年龄段"),
    "feature_region": ("region", "地区"),
    "feature_acquisition_channel": ("acquisition channel", "获客渠道"),
    "method_stake_churn": (
        "Value at stake is the value a customer's leaving would cost: the expected value over the next "
        "{months} months (where no purchase model valued the customer, a year of spend at their usual pace, "
        "capped at what they have spent per year so far) times the churn risk.",
        "潜在损失价值是客户流失带来的损失：未来 {months}"
        " 个月的预期价值（购买模型未估值的客户取按其通常节奏一年的"
        "消费，且不超过其至今每年的实际消费）乘以流失风险。",
    ),
    "section_lists": ("Customers to act on", "需要跟进的客户"),
    "section_effects": ("Did last period's actions work?", "上期行动有效吗？"),
    "section_voice": ("Voice of the customer", "客户之声"),
    # the voice of the customer (helpers.voice)
    "voice_intro": (
        "What customers told us: how likely they are to recommend us (0 to 10; the NPS is the share of "
        "promoters, who answer 9 or 10, minus the share of detractors, who answer 0 to 6, in points from "
        "-100 to +100), their complaints, and whether those who complained or scored low kept buying.",
        "客户告诉我们的：向他人推荐我们的可能性（0 到 10 分；NPS 为推荐者（9-10 分）占比"
        "减去贬损者（0-6 分）占比，取值 -100 到 +100），他们的投诉，以及投诉或打低分的客户是否仍在购买。",
    ),
    "voice_nps": (
        "NPS of the last 12 months (to {end}): {nps} from {answers} answers ({promoters} promoters, "
        "{passives} passives, {detractors} detractors); its {confidence} interval runs from {low} to {high}.",
        "近 12 个月（截至{end}）的 NPS：{nps}，共 {answers} 个回答（推荐者 {promoters}、中立者 {passives}、"
        "贬损者 {detractors}）；其 {confidence} 置信区间为 {low} 至 {high}。",
    ),
    "voice_nps_no_interval": (
        "NPS of the last 12 months (to {end}): {nps} from {answers} answers ({promoters} promoters, "
        "{passives} passives, {detractors} detractors); too few answers for an interval (it needs "
        "{minimum}).",
        "近 12 个月（截至{end}）的 NPS：{nps}，共 {answers} 个回答（推荐者 {promoters}、中立者 {passives}、"
        "贬损者 {detractors}）；回答太少，无法给出区间（至少需要 {minimum} 个）。",
    ),
    "voice_too_few_answers": (
        "Fewer than {minimum} customers answered the recommendation question in the 12 months to {end}: "
        "their score is not shown (it would tell single customers' answers).",
        "截至{end}的 12 个月内回答推荐问题的客户少于 {minimum} "
        "位：不显示其评分（否则会暴露单个客户的回答）。",
    ),
    "voice_nps_none": (
        "No customer answered the recommendation question in the 12 months to {end}.",
        "截至{end}的 12 个月内没有客户回答推荐问题。",
    ),
    "voice_satisfied_csat_1_5": (
        "Satisfaction (CSAT, 1 to 5): {share} of {answers} answers of the last 12 months gave 4 or 5 "
        "(average {mean}).",
        "满意度（CSAT，1-5 分）：近 12 个月 {answers} 个回答中 {share} 给出 4 或 5 分（平均 {mean}）。",
    ),
    "voice_satisfied_stars_1_5": (
        "Reviews (1 to 5 stars): {share} of {answers} reviews of the last 12 months gave 4 or 5 stars "
        "(average {mean}).",
        "评价（1-5 星）：近 12 个月 {answers} 条评价中 {share} 给出 4 或 5 星（平均 {mean}）。",
    ),
    "voice_trend_intro": (
        "NPS month by month; the band is its interval where a month has at least {minimum} answers.",
        "每月 NPS；阴影为区间（当月至少 {minimum} 个回答时）。",
    ),
    "voice_trend_title": ("NPS by month", "每月 NPS"),
    "voice_trend_axis": ("NPS (points)", "NPS（分）"),
    "voice_axis_month": ("month", "月份"),
    "voice_segment_intro": (
        "NPS of the last 12 months by segment (the customers' segment at the end of the period; no interval "
        "for fewer than {minimum} answers):",
        "按分群的近 12 个月 NPS（客户在本期末所属的分群；少于 {minimum} 个回答时不给出区间）：",
    ),
    "voice_complaints_intro": (
        "Complaints filed in the 12 months to {end}, by category, and where they stood at {end}:",
        "截至{end}的 12 个月内提交的投诉，按类别，以及截至{end}的处理状态：",
    ),
    "voice_complaints_none": (
        "No complaint was filed in the 12 months to {end}.",
        "截至{end}的 12 个月内没有投诉。",
    ),
    "voice_all_complaints": ("All complaints", "全部投诉"),
    "voice_no_orders": ("Without an order", "无订单"),
    "voice_uncategorised": ("Uncategorised", "未分类"),
    "voice_classified_model": (
        "{count} complaints came without a category; a text model learnt the categories from the {labelled} "
        "categorised ones and placed them (it was right on {accuracy} of {test} categorised complaints held "
        "out to test it).",
        "{count} 条投诉没有类别；文本模型从 {labelled} 条已分类投诉中学习并为其分类"
        "（在留作检验的 {test} 条已分类投诉中正确率 {accuracy}）。",
    ),
    "voice_classified_keywords": (
        "{count} complaints came without a category; keyword rules placed {found} of them, the others are "
        "uncategorised.",
        "{count} 条投诉没有类别；关键词规则为其中 {found} 条分类，其余为未分类。",
    ),
    "voice_classified_none": (
        "{count} complaints came without a category and are counted as uncategorised: too few categorised "
        "complaints to learn from, and no keyword rules.",
        "{count} 条投诉没有类别，计为未分类：已分类投诉太少，无法学习，且未设置关键词规则。",
    ),
    "voice_churn_none": (
        "Whether customers kept buying after a complaint or a low score is not measured this period: it "
        "compares the customers who bought before {cut} (the end of the period minus {days}), and nobody "
        "had.",
        "本期无法衡量客户在投诉或低分之后是否仍在购买：这一比较针对在{cut}"
        "（期末往前 {days}）之前购买过的客户，而当时还没有这样的客户。",
    ),
    "voice_churn_intro": (
        "Did customers keep buying after a complaint or a low score? Among the customers who bought before "
        "{cut}, the share who ordered nothing from {cut} to {end} ({days}), by their first complaint before "
        "{cut} (open or resolved at {end}) and by their last recommendation score before {cut}:",
        "投诉或低分之后客户是否仍在购买？在{cut}之前购买过的客户中，{cut}至{end}（{days}）没有下单的比例，"
        "按其在{cut}之前的第一次投诉（截至{end}未解决或已解决）以及{cut}之前最后一次推荐评分分组：",
    ),
    "voice_churn": (
        "{group_a}: {rate_a} churned ({churned_a} of {customers_a}), {ratio} times the rate of {group_b}, "
        "{rate_b} ({churned_b} of {customers_b}). ",
        "{group_a}：{rate_a} 流失（{customers_a} 位中 {churned_a} 位），是{group_b}"
        "（{rate_b}，{customers_b} 位中 {churned_b} 位）的 {ratio} 倍。",
    ),
    "voice_churn_no_ratio": (
        "{group_a}: {rate_a} churned ({churned_a} of {customers_a}); none of the {customers_b} {group_b} "
        "did. ",
        "{group_a}：{rate_a} 流失（{customers_a} 位中 {churned_a} 位）；{customers_b} 位{group_b}无一流失。",
    ),
    "voice_churn_significant": (
        "The difference is significant at {confidence} confidence (p {p}).",
        "该差异在 {confidence} 置信水平下显著（p {p}）。",
    ),
    "voice_churn_not_significant": (
        "The difference is not significant at {confidence} confidence (p {p}): it could be chance.",
        "该差异在 {confidence} 置信水平下不显著（p {p}），可能是偶然。",
    ),
    "voice_churn_empty": (
        "{group_a} and {group_b} cannot be compared: one of the two groups has no customer.",
        "{group_a}与{group_b}无法比较：其中一组没有客户。",
    ),
    "voice_churn_small": (
        "{group_a} and {group_b} are not compared here: a group of fewer than {minimum} customers is not "
        "shown.",
        "此处不比较{group_a}与{group_b}：少于 {minimum} 位客户的分组不显示。",
    ),
    "voice_group_unresolved_complaint": ("customers with an unresolved complaint", "投诉未解决的客户"),
    "voice_group_resolved_complaint": ("customers whose complaint was resolved", "投诉已解决的客户"),
    "voice_group_no_complaint": ("customers without a complaint", "没有投诉的客户"),
    "voice_group_detractors": ("detractors (scored 0-6)", "贬损者（评分 0-6）"),
    "voice_group_promoters": ("promoters (scored 9-10)", "推荐者（评分 9-10）"),
    "voice_contacts": (
        "{contacts} contacts in the 12 months to {end}: {inbound} from customers, {outbound} from us.",
        "截至{end}的 12 个月内共 {contacts} 次联系：客户发起 {inbound} 次，我们发起 {outbound} 次。",
    ),
    "voice_contacts_unknown": (" {count} without a direction.", "另有 {count} 次方向不明。"),
    "voice_contacts_none": ("No contact in the 12 months to {end}.", "截至{end}的 12 个月内没有联系记录。"),
    "voice_no_feedback": (
        "The data hold contacts but no feedback: there are no scores or complaints to show.",
        "数据中只有联系记录，没有反馈：没有评分或投诉可显示。",
    ),
    # action lists (helpers.actions) and their measured effect (helpers.effects)
    "action_win_back": ("Win-back", "挽回"),
    "action_cross_sell": ("Cross-sell", "交叉销售"),
    "action_birthday": ("Birthday greetings", "生日关怀"),
    "action_anniversary": ("Anniversaries", "周年关怀"),
    "action_no_recent_contact": ("Valuable, not contacted lately", "高价值但近期未联系"),
    "rule_churn_warning": (
        "customers who are {statuses}: reach them before they are gone",
        "“{statuses}”的客户：在他们离开之前联系",
    ),
    "rule_birthday": (
        "customers whose birthday falls between {start} and {end}",
        "生日在{start}至{end}之间的客户",
    ),
    "rule_anniversary": (
        "customers whose signup (or, without one, first order) has its anniversary between {start} and {end}",
        "注册日（无注册日时为首单日）周年纪念在{start}至{end}之间的客户",
    ),
    "rule_next_best_product": (
        "customers with a product to offer next (what orders like theirs also hold)",
        "有可推荐商品的客户（与其订单相似的订单中还常有的商品）",
    ),
    "rule_no_recent_contact": (
        "customers with no contact recorded for {days} days",
        "{days} 天内没有任何联系记录的客户",
    ),
    "rule_own": ("chosen by a rule of this dataset's settings", "按本数据集设置中的规则选出"),
    "rule_narrowed": (
        "{rule}, narrowed by a rule of this dataset's settings",
        "{rule}，并按本数据集设置中的规则筛选",
    ),
    "lists_intro": (
        "Lists for {start} to {end}. {share} of the customers, chosen at random once and for all, are held "
        "out "
        "of every list: do not contact them, so that next period's report can measure what contacting the "
        "others did. The exports mark them.",
        "{start}至{end}的行动名单。{share}的客户被一次性随机选为对照组，不进入任何名单的联系范围：请勿联系他们，"
        "以便下期报告衡量联系其他客户的效果。导出文件中已标注。",
    ),
    "lists_intro_no_holdout": (
        "Lists for {start} to {end}. Nobody is held out (actions.control_share is 0), so next period's "
        "report cannot measure what the lists did.",
        "{start}至{end}的行动名单。未设对照组，因此下期报告无法衡量名单的效果。",
    ),
    "lists_skipped": ("No “{list}” list: {why}.", "没有“{list}”名单：{why}。"),
    "why_no_basket_rules": (
        "the orders give no product to offer anyone (no rule, or no product ids)",
        "订单数据无法为任何客户给出推荐商品（没有关联规则或没有商品编号）",
    ),
    "why_no_birth_dates": ("the customer attributes hold no birth dates", "客户属性中没有出生日期"),
    "why_no_interactions": (
        "there is no record of contacts (an interactions source)",
        "没有联系记录（互动数据源）",
    ),
    "group_contact": ("contact", "联系"),
    "group_hold_out": ("hold out: do not contact", "对照组：请勿联系"),
    "effects_intro": (
        "The lists of {then} held out a random share of their customers, who were not to be contacted. "
        "What both groups did in {now}:",
        "{then}的名单随机留出一部分客户作为对照组（不联系）。两组客户在{now}的表现：",
    ),
    "effects_none_then": (
        "{then}, the compared period, has no action lists (it was built before they existed or with none "
        "configured), so there is nothing to measure yet.",
        "对比期{then}没有行动名单（构建时尚无此功能或未配置），因此暂无可衡量的内容。",
    ),
    "effect_sentence": (
        "{list} ({then}): {treated} customers {how} and {held} held out. {ordered_treated} of them "
        "ordered in {now} against {ordered_held} of those held out, {difference} ({level} CI {low} to "
        "{high}): {verdict}. Revenue per customer {revenue_treated} against {revenue_held}, "
        "{revenue_difference} ({level} CI {revenue_low} to {revenue_high}): {revenue_verdict}.",
        "{list}（{then}）：{treated} 位客户{how}，{held} 位为对照组。前者在{now}有 {ordered_treated} 下单，"
        "对照组为 {ordered_held}，相差 {difference}（{level} 置信区间 {low} 至 {high}）：{verdict}。"
        "人均收入 {revenue_treated}，对照组 {revenue_held}，相差 {revenue_difference}（{level} 置信区间 "
        "{revenue_low} 至 {revenue_high}）：{revenue_verdict}。",
    ),
    "effect_too_few": (
        "{list} ({then}): too few customers to compare ({treated} and {held} held out; at least {needed} "
        "each "
        "are needed).",
        "{list}（{then}）：客户太少，无法比较（{treated} 位与对照组 {held} 位；每组至少需要 {needed} 位）。",
    ),
    "treated_by_list": (
        "on the list (no record of who was contacted was given, so all of them count, contacted or not)",
        "在名单上（未提供实际联系记录，因此无论是否联系都计入）",
    ),
    "treated_by_contacts": ("contacted from the list", "从名单中被联系"),
    "effect_contaminated": (
        "{count} held-out customers were contacted anyway; they stay in the hold-out, which makes an effect "
        "look smaller than it is.",
        "有 {count} 位对照组客户仍被联系；他们仍计入对照组，这会使效果看起来比实际小。",
    ),
    "effect_contaminated_one": (
        "1 held-out customer was contacted anyway; they stay in the hold-out, which makes an effect look "
        "smaller than it is.",
        "有 1 位对照组客户仍被联系；其仍计入对照组，这会使效果看起来比实际小。",
    ),
    "verdict_gain": ("a clear gain", "效果明显（提升）"),
    "verdict_loss": ("a clear loss", "效果明显（下降）"),
    "verdict_unclear": ("not a clear effect", "效果尚不明确"),
    "verdict_too_few": ("too few to tell", "样本太少，无法判断"),
    "points": ("{value} points", "{value} 个百分点"),
    "section_cohorts": ("Cohort retention", "同期群留存"),
    "section_contribution": ("Customer contribution", "客户贡献"),
    "section_quality": ("Data quality", "数据质量"),
    "section_method": ("How the numbers are made", "数据计算方法"),
    "section_exports": ("Exports and detailed pages", "导出文件与详细页面"),
    # KPI cards
    "kpi_revenue": ("Revenue", "收入"),
    "kpi_orders": ("Orders", "订单数"),
    "kpi_buyers": ("Customers who ordered", "下单客户数"),
    "kpi_avg_order_value": ("Average order", "平均订单金额"),
    "kpi_repeat_purchase_rate": ("Repeat-purchase rate", "复购率"),
    "kpi_expected_clv": ("Expected value, next {months} months", "未来 {months} 个月预期价值"),
    "kpi_status": ("{status} customers", "{status}客户"),
    "kpi_vs": ("vs {label}", "对比 {label}"),
    # trend
    "trend_intro": (
        "Revenue, orders, customers who ordered and active customers in each built period of {title} up "
        "to this one; the first three computed the same way from the orders up to {end}.",
        "{title} 截至本期各已生成期间的收入、订单数、下单客户数和活跃客户数；前三项均按相同方法由截至{end}"
        "的订单计算。",
    ),
    "trend_one_period": (
        "No earlier period of {title} has been built, so there is no trend yet.",
        "{title} 尚无已生成的早期期间，暂无趋势。",
    ),
    "trend_chart_title": ("Per period", "各期间"),
    "trend_active": ("Active customers", "活跃客户数"),
    "axis_period": ("period", "期间"),
    # statuses
    "status_intro": (
        "Every customer has one status, with the same meaning on this page, in the lists and in the exports.",
        "每位客户只有一个状态，在本页、名单和导出文件中含义相同。",
    ),
    "status_rule_potential": (
        "known from the customer records, no order yet",
        "客户资料中有记录，但尚未下单",
    ),
    "status_rule_potential_from": ("known from {sources}, no order yet", "见于{sources}，但尚未下单"),
    "known_customers": ("the customer records", "客户资料"),
    "known_leads": ("won sales leads", "已赢单的销售线索"),
    "known_events": ("signed-in visits", "登录后的访问记录"),
    "known_interactions": ("contacts", "联系记录"),
    "known_feedback": ("feedback", "客户反馈"),
    "status_rule_new": ("first order in this period", "本期首次下单"),
    "status_rule_churned_days": ("no order for more than {days}", "超过 {days} 没有下单"),
    "status_rule_churned_model": (
        "no order for more than {days}, or a chance below {p} of still being a customer",
        "超过 {days} 没有下单，或仍是客户的概率低于 {p}",
    ),
    "status_rule_active": (
        "last order within {gaps}× their usual gap between orders",
        "最近一次下单在其通常下单间隔的 {gaps} 倍以内",
    ),
    "status_rule_at_risk": (
        "last order between {low}× and {high}× their usual gap between orders ago",
        "最近一次下单在其通常下单间隔的 {low} 倍到 {high} 倍之间",
    ),
    "status_rule_lapsed": (
        "last order more than {gaps}× their usual gap ago, not churned",
        "最近一次下单超过其通常下单间隔的 {gaps} 倍，但尚未流失",
    ),
    "status_gap_note": (
        "A customer's usual gap is their own average time between orders; for customers with one order "
        "it is the purchase cycle of {title}, {cycle} (the median usual gap of the customers with two or "
        "more orders).",
        "客户的通常间隔是其自己的平均下单间隔；只下过一单的客户取 {title} 的购买周期 {cycle}（有两单及以上"
        "客户的通常间隔中位数）。",
    ),
    "flow_intro": (
        "Where the customers of {label} stand now (rows: their status in {label}; columns: now).",
        "{label} 的客户现在的状态（行：{label} 时的状态；列：现在的状态）。",
    ),
    "flow_title": ("Status: {label} → {period}", "客户状态：{label} → {period}"),
    "flow_axis_now": ("status now", "现在的状态"),
    "flow_axis_before": ("status in {label}", "{label} 时的状态"),
    "flow_not_yet": ("not yet a customer", "当时尚不是客户"),
    "flow_gone": ("no longer in the data", "已不在数据中"),
    "flow_move": (
        "{count} of the {total} customers who were {before} in {label} are now {now}.",
        "{label} 时为“{before}”的 {total} 位客户中，{count} 位现在为“{now}”。",
    ),
    "flow_stayed": (
        "Every customer of {label} has the same status now.",
        "{label} 的所有客户现在的状态都没有变化。",
    ),
    "flow_unknown": (
        "The statuses of {label} are not known, so the flow between statuses is not shown.",
        "{label} 的客户状态未知，因此不显示状态流转。",
    ),
    # segments
    "segments_intro": (
        "Customers grouped by how recently, how often and how much they bought. Each segment keeps its "
        "colour in every chart and period.",
        "按最近购买时间、购买频率和消费金额对客户分群。每个分群在所有图表和期间中颜色不变。",
    ),
    "segments_chart_title": ("Customers per segment", "各分群客户数"),
    "segments_grew": (
        "{segment} grew by {change} customers to {now} (from {before} in {label}).",
        "{segment} 增加了 {change} 位客户，达到 {now}（{label} 为 {before}）。",
    ),
    "segments_grew_one": (
        "{segment} grew by 1 customer to {now} (from {before} in {label}).",
        "{segment} 增加了 1 位客户，达到 {now}（{label} 为 {before}）。",
    ),
    "segments_shrank_one": (
        "{segment} shrank by 1 customer to {now} (from {before} in {label}).",
        "{segment} 减少了 1 位客户，降至 {now}（{label} 为 {before}）。",
    ),
    "segments_shrank": (
        "{segment} shrank by {change} customers to {now} (from {before} in {label}).",
        "{segment} 减少了 {change} 位客户，降至 {now}（{label} 为 {before}）。",
    ),
    "segments_same": (
        "Every segment has as many customers as in {label}.",
        "每个分群的客户数都与 {label} 相同。",
    ),
    "segments_returns_only_one": (
        "1 customer only returned goods in this data (what they bought came before it begins): they have "
        "no segment, status or score, and their returns count against revenue.",
        "有 1 位客户在本数据中只有退货（购买发生在数据开始之前）：该客户没有分群、状态或评分，"
        "其退货已从收入中扣除。",
    ),
    "segments_returns_only": (
        "{count} customers only returned goods in this data (what they bought came before it begins): "
        "they have no segment, status or score, and their returns count against revenue.",
        "有 {count} 位客户在本数据中只有退货（购买发生在数据开始之前）：他们没有分群、状态或评分，"
        "其退货已从收入中扣除。",
    ),
    "segments_none_empty": ("no customers this period", "本期没有客户"),
    "segments_guide": ("What each segment means and what to do:", "各分群的含义和建议行动："),
    "segment_size": ("{customers} customers, {share} of all", "{customers} 位客户，占 {share}"),
    "segment_size_one": ("1 customer, {share} of all", "1 位客户，占 {share}"),
    "segment_item": ("({size}). {meaning} What to do: {action}", "（{size}）。{meaning}建议：{action}"),
    "status_rules": (
        "The rules, checked in this order: potential, new, churned, active, at risk, lapsed (the first "
        "that holds wins):",
        "判断规则（按潜在、新客、已流失、活跃、流失风险、沉寂的顺序判断，先满足者为准）：",
    ),
    "truth_intro": (
        "Do the segment names tell the truth? Each name promises how recently its customers bought; the "
        "table checks that against the segment's own median.",
        "分群名称是否属实？每个名称都暗示客户最近一次购买的时间，下表用该分群自身的中位数进行核对。",
    ),
    "truth_ok": ("yes", "是"),
    "truth_flag": ("no: {detail}", "否：{detail}"),
    "truth_too_old": (
        "half of them last ordered more than {median} ago",
        "一半客户的最近一次下单在 {median} 以前",
    ),
    "truth_too_recent": (
        "half of them ordered within the last {median}",
        "一半客户在最近 {median} 内下过单",
    ),
    "truth_all_ok": (
        "Every segment's customers match what its name says.",
        "每个分群的客户都与其名称相符。",
    ),
    "truth_some_flagged": (
        "{count} segment names do not match their customers this period (marked below).",
        "本期有 {count} 个分群名称与其客户不符（见下表标记）。",
    ),
    "recency_within": ("last order within {high}", "最近下单在 {high} 以内"),
    "recency_between": ("last order {low} to {high} ago", "最近下单在 {low} 至 {high} 以前"),
    "recency_beyond": ("last order more than {low} ago", "最近下单在 {low} 以前"),
    "recency_any": ("any time", "任何时间"),
    # migration
    "migration_intro": (
        "Where this period's customers stood in {label} (rows) and where they stand now (columns); the "
        "diagonal holds those who stayed.",
        "本期客户在 {label} 时所在的分群（行）和现在所在的分群（列）；对角线为没有变化的客户。",
    ),
    "migration_title": ("Segments: {label} → {period}", "客户分群：{label} → {period}"),
    "migration_axis_now": ("segment now", "现在的分群"),
    "migration_axis_before": ("segment in {label}", "{label} 时的分群"),
    "migration_new": ("new since {label}", "{label} 之后新增"),
    "migration_move": (
        "{count} customers moved from {before} to {now}.",
        "{count} 位客户从 {before} 转入 {now}。",
    ),
    "migration_move_one": ("1 customer moved from {before} to {now}.", "1 位客户从 {before} 转入 {now}。"),
    "migration_none": ("No customer changed segment.", "没有客户改变分群。"),
    "axis_customers": ("customers", "客户数"),
    # clusters
    "clusters_intro": (
        "A second, data-driven grouping: customers with similar recency, orders and spend, found by "
        "k-means. The chart places each cluster by the percentile of its typical customer among all "
        "customers (0-100; further out is always better: more recent, more orders, more spend).",
        "第二种基于数据的分组：用 k-means 找出最近购买时间、订单数和消费相近的客户。图中按每个簇的典型客户"
        "在全部客户中的百分位"
        "（0-100）定位，越靠外越好：购买越近、订单越多、消费越高。",
    ),
    "clusters_chart_title": ("Cluster profiles", "客户簇画像"),
    "clusters_axis": ("percentile among all customers", "在全部客户中的百分位"),
    "radar_recency": ("recent order", "近期下单"),
    "radar_frequency": ("orders", "订单数"),
    "radar_monetary": ("spend", "消费"),
    # lifetime value
    "clv_intro": (
        "The expected value of each customer's purchases over the next {months} months, from a "
        "purchase model ({model}) and {spend}: {total} in all, {top} of it from the top 10% of customers.",
        "每位客户未来 {months} 个月购买的预期价值，来自购买模型（{model}）和{spend}：合计 {"
        "total}，其中 {top} "
        "来自前 10% 的客户。",
    ),
    "clv_spend_model": ("a spend model (Gamma-Gamma)", "消费模型（Gamma-Gamma）"),
    "clv_spend_observed": ("each customer's own average spend a purchase", "每位客户自己的平均每次消费"),
    "clv_not_estimated": (
        "Lifetime value could not be estimated this period: {reason}.",
        "本期无法估计终身价值：{reason}。",
    ),
    "clv_too_few": (
        "only {repeat} customers bought again in a later {unit} than their first purchase (the models "
        "count purchases by {unit}), and the models need at least {needed}",
        "只有 {repeat} 位客户在首次购买之后的另一{unit}再次购买（模型按{unit}计算购买），"
        "而模型至少需要 {needed} 位",
    ),
    "clv_spend_failed": (
        "the spend model (Gamma-Gamma) could not be fitted, so purchases could not be given a value",
        "消费模型（Gamma-Gamma）无法拟合，因此无法估计购买的价值",
    ),
    "clv_fit_failed": ("the {model} purchase model could not be fitted", "{model} 购买模型无法拟合"),
    "clv_none_fitted": (
        "none of the purchase models tried ({models}) could be fitted on the whole history",
        "所尝试的购买模型（{models}）在全部历史上均无法拟合",
    ),
    "clv_chart_title": ("Expected value per segment", "各分群预期价值"),
    "clv_axis": ("expected value, next {months} months", "未来 {months} 个月预期价值"),
    "clv_by_status": (
        "By status (value at stake: see the method notes):",
        "按客户状态（潜在损失价值见计算方法）：",
    ),
    "no_group": ("(none)", "（无）"),
    "clv_by_cluster": ("By cluster, largest expected value first:", "按客户簇，预期价值从高到低："),
    # lists
    "churn_intro": (
        "Churn warning: all {count} customers who are {statuses}, largest value at stake first; search "
        "by customer, segment or status.",
        "流失预警：全部 {count} 位“{statuses}”客户，按潜在损失价值从高到低排列；可按客户编号、分群或状态搜"
        "索。",
    ),
    "churn_intro_one": (
        "Churn warning: the 1 customer who is {statuses}; search by customer, segment or status.",
        "流失预警：1 位“{statuses}”客户；可按客户编号、分群或状态搜索。",
    ),
    "churn_top": (
        "Churn warning: the {shown} of the {count} customers who are {statuses} with the largest value at "
        "stake (all of them are in the churn-warning export); search by customer, segment or status.",
        "流失预警：{count} 位“{statuses}”客户中潜在损失价值最高的 {shown} 位（全部客户见流失预警导出文件）"
        "；可按客户编号、分群或状态搜索。",
    ),
    "churn_none": ("No customer is {statuses} this period.", "本期没有“{statuses}”的客户。"),
    "top_clv_intro": (
        "The {count} customers with the highest expected value over the next {months} months.",
        "未来 {months} 个月预期价值最高的 {count} 位客户。",
    ),
    "top_clv_intro_one": (
        "The customer with the highest expected value over the next {months} months.",
        "未来 {months} 个月预期价值最高的 1 位客户。",
    ),
    "list_search": ("Search customers", "搜索客户"),
    "list_info": ("{first}–{last} of {total}", "第 {first}–{last} 条，共 {total} 条"),
    "list_empty": ("No customer matches.", "没有匹配的客户。"),
    "list_previous": ("Previous", "上一页"),
    "list_next": ("Next", "下一页"),
    "and": (" and ", "和"),
    "colon": (": ", "："),
    "or": (" or ", "或"),
    # cohorts
    "cohorts_intro": (
        "Of the customers who first ordered in a month (rows), the share who ordered again in each later "
        "month (columns).",
        "在某月首次下单的客户（行）中，之后每个月（列）再次下单的客户占比。",
    ),
    "cohorts_title": ("Customers ordering again, by first-order month", "按首单月份的再次下单比例"),
    "cohorts_axis_month": ("months after the first order", "首单后的月数"),
    "cohorts_axis_cohort": ("first order in", "首单月份"),
    "cohorts_colour": ("ordered again (%)", "再次下单（%）"),
    "cohorts_by_channel": (
        "The same by acquisition channel: the share of each channel's customers who ordered again, month "
        "by month after their first order.",
        "按获客渠道：各渠道客户首单后每个月再次下单的比例。",
    ),
    "cohorts_channel_title": ("Ordering again by acquisition channel", "各获客渠道的再次下单比例"),
    "cohorts_none": (
        "No customer has a full month after the first order yet.",
        "还没有客户在首单后满一个月。",
    ),
    # contribution
    "contribution_intro": (
        "How much of the period's revenue ({revenue}) comes from the best customers: the top {top1} of "
        "the {buyers} customers who ordered brought {share1}, the top 5% {share5} and the top 20% {share20}.",
        "本期收入（{revenue}）有多少来自最好的客户：{buyers} 位下单客户中，前 {top1} 贡献了 {share1}，前 5%"
        " 贡献了 {share5}，"
        "前 20% 贡献了 {share20}。",
    ),
    "contribution_none": ("Nobody ordered in this period.", "本期没有客户下单。"),
    "retention_notice": (
        "The customer-level data of this period (its lists, exports and detailed pages) was removed on "
        "{date} under the data-retention setting; the figures on this page stay.",
        "按数据保留设置，本期的客户级数据（名单、导出文件和详细页面）已于 {date} 删除；本页的数字保留。",
    ),
    "contribution_few": (
        "The period's revenue ({revenue}) came from {buyers} customers who ordered: too few to show the "
        "share of the best of them without telling single customers' spend.",
        "本期收入（{revenue}）来自 {buyers} "
        "位下单客户：人数太少，展示其中最好客户的占比会暴露单个客户的消费。",
    ),
    "contribution_title": ("Share of revenue by share of customers", "客户占比与收入占比"),
    "contribution_x": ("customers who ordered, best first (%)", "下单客户，从高到低（%）"),
    "contribution_y": ("share of the period's revenue (%)", "本期收入占比（%）"),
    "contribution_top": ("top {share}", "前 {share}"),
    # data quality
    "sources_intro": (
        "Every source is accounted for the same way, rows in = kept + set aside:",
        "每个数据来源都同样逐行记账，输入行 = 保留 + 剔除：",
    ),
    "identity_line": (
        "Of the {total} behaviour events kept, {identified} came with a customer id and {stitched} more "
        "were linked to a customer through the device they came from: {share} are identified.",
        "在保留的 {total} 条行为事件中，{identified} 自带客户编号，另有 {stitched} 通过其设备关联到客户："
        "可识别的占 {share}。",
    ),
    "identity_none": ("No behaviour event was kept.", "没有保留任何行为事件。"),
    "quality_intro": (
        "Every row of the source is either used or set aside with a reason: {rows_in} rows in = {kept} "
        "kept + {rejected} set aside.",
        "源数据的每一行要么被使用，要么附原因被剔除：输入 {rows_in} 行 = 保留 {kept} 行 + 剔除 {rejected} "
        "行。",
    ),
    # method notes
    "method_segments": (
        "RFM segments. Every customer gets three scores from 1 to 5: how recently they ordered (R), how "
        "often (F) and how much they spent (M). R is scored in days ({bands}), F and M by fifths of all "
        "customers. A rule table turns the three scores into a named segment.",
        "RFM 分群。每位客户得到三个 1 到 5 的分数：最近一次下单时间（R）、下单频率（F）和消费金额（M）。R "
        "按天数计分（{bands}），"
        "F 和 M 按全部客户的五分位计分。规则表把三个分数转换成命名的分群。",
    ),
    "method_cycle": (
        "R 5 to 2 end at {bands} since the last order, multiples of the purchase cycle of {cycle}",
        "R 5 到 2 分别止于距上次下单 {bands}，即购买周期 {cycle} 的倍数",
    ),
    "method_days": (
        "R 5 to 2 end at {bands} since the last order, as set in the params",
        "R 5 到 2 分别止于距上次下单 {bands}（参数设定）",
    ),
    "method_quintiles": (
        "by fifths of all customers, like F and M; its names are checked against {bands}",
        "与 F、M 一样按五分位计分；分群名称按 {bands} 核对",
    ),
    "method_status": (
        "Customer status. Every customer has one of the statuses potential, new, active, at risk, lapsed "
        "and churned, with the rules shown under Customer status; the lists and exports use the same "
        "words for the same customers.",
        "客户状态。每位客户只有一个状态：潜在、新客、活跃、流失风险、沉寂或已流失，规则见“客户状态”一节；名单和导出文件使用"
        "相同的词指代相同的客户。",
    ),
    "method_score": (
        "Customer score. A number from 0 to 100 that weighs each customer's rank among all customers on "
        "{indicators}.",
        "客户评分。0 到 100 的数值，按客户在全部客户中的排名加权：{indicators}。",
    ),
    "method_clv": (
        "Lifetime value. A purchase model ({model}, {chosen}) estimates each customer's chance of still "
        "being a customer and how often they will buy; {spend}. The expected value is the spend expected "
        "over the next {months} months, discounted by {rate} a month.{validation}",
        "终身价值。购买模型（{model}，{chosen}）估计每位客户仍是客户的概率和购买频率；{spend}。"
        "预期价值是未来 {months} 个月的预期消费，按每月 {rate} 折现。{validation}",
    ),
    "method_chosen": (
        "chosen among several by how well it predicted held-out months",
        "从多个模型中按对留出月份的预测效果选出",
    ),
    "method_spend_model": (
        "a spend model (Gamma-Gamma) estimates how much per order",
        "消费模型（Gamma-Gamma）估计每单金额",
    ),
    "method_spend_observed": (
        "each purchase is valued at the customer's own average (customers without a repeat purchase at "
        "the repeat buyers' average), as the spend model (Gamma-Gamma) gave implausible values",
        "每次购买按客户自己的平均消费计价（无重复购买的客户按重复购买客户的平均值），因为消费模型（Gamma-Gamma）给出的数值不可信",
    ),
    "method_only_tested": (
        "the only listed model that could be fitted on the months before the held-out ones, so not "
        "compared with another",
        "唯一能在留出月份之前的数据上拟合的模型，因此未与其他模型比较",
    ),
    "method_first_listed": (
        "the first model listed, as the models could not be compared on held-out months",
        "因无法在留出月份上比较各模型，采用列出的第一个模型",
    ),
    "method_fallback": (
        "the next model listed, as {first} degenerated or could not be fitted on this data",
        "列出的下一个模型，因 {first} 在本数据上退化或无法拟合",
    ),
    "caveat": ("Caveat: {text}", "注意：{text}"),
    "caveat_fallback": (
        "{first} degenerated or could not be fitted on the whole history, so {model} is used.",
        "{first} 在全部历史数据上退化或无法拟合，因此改用 {model}。",
    ),
    "caveat_not_tested": (
        "{models} could not be fitted on the history up to {end}, so not tested on the held-out months.",
        "{models} 无法在截至 {end} 的历史数据上拟合，因此未在留出月份上检验。",
    ),
    "caveat_penalised": (
        "{model}'s first fit on {data} failed, so it was refitted with a small penalty on large parameter "
        "values (penalizer {penalizer}), which pulls its estimates towards smaller values: take the values "
        "it gives as approximate.",
        "{model} 在{data}上的首次拟合失败，因此加入对较大参数值的小惩罚（penalizer {penalizer}）重新拟合，"
        "这会使估计值偏小：其数值仅供近似参考。",
    ),
    "caveat_penalised_data_history": ("the whole history", "全部历史数据"),
    "caveat_penalised_data_spend": ("the repeat buyers' spend", "重复购买客户的消费数据"),
    "caveat_penalised_holdout": (
        "On the history up to {end}, {models} could only be fitted with a small penalty on large parameter "
        "values (penalizer {penalizer}), so the comparison on the held-out months is less certain.",
        "在截至 {end} 的历史数据上，{models} 只能在加入对较大参数值的小惩罚（penalizer {penalizer}）后拟合，"
        "因此在留出月份上的比较不够确定。",
    ),
    "caveat_spend_observed": (
        "The spend model (Gamma-Gamma) is not used: its q = {q} is so close to 1 that it values a purchase "
        "of a customer without a repeat purchase at {model_mean}, more than {ratio} times the {observed} "
        "the {repeat} repeat buyers spent on average. Instead each repeat buyer's purchases are valued at "
        "their own average, and every other customer's at that {observed}.",
        "未使用消费模型（Gamma-Gamma）：其 q = {q} 过于接近 1，"
        "使无重复购买客户的每次购买被估为 {model_mean}，"
        "超过 {repeat} 位重复购买客户平均消费 {observed} 的 {ratio} 倍。"
        "因此每位重复购买客户的购买按其自己的平均值计价，其他客户按 {observed} 计价。",
    ),
    "caveat_not_compared": (
        "The purchase models were not compared on held-out months.",
        "购买模型未在留出月份上进行比较。",
    ),
    "caveat_poor_fit": (
        "On the held-out months {model} expected {expected} purchases where {actual} happened ({error} "
        "off, more than the {limit} this report accepts): take its values as rough.",
        "在留出月份上，{model} 预期 {expected} 次购买，实际 {actual} 次（偏差 {error}，超过本报告接受的 {li"
        "mit}）：其数值仅供粗略"
        "参考。",
    ),
    "method_revenue": (
        "Revenue. The period's orders net of its returns. The average order is the period's purchases, "
        "before returns, divided by their number, so it can differ from revenue divided by orders.",
        "收入：本期订单扣除本期退货。平均订单金额为本期购买（"
        "未扣退货）除以订单数，因此可能与收入除以订单数不同。",
    ),
    "caveat_at_bound": (
        "{model}'s parameter {name} ran to the edge of its range ({value}): the model has degenerated, so "
        "its chance that a customer is still one is not used for the statuses, which follow the days since "
        "the last order, nor for the value at stake.",
        "{model} 的参数 {name} 达到取值范围的边界（{value}）：模型已退化，"
        "因此其“仍为客户的概率”不用于客户状态（状态按距上次下单的天数判定），也不用于潜在损失价值。",
    ),
    "method_validation": (
        " On the last months of history it had not seen, it predicted {expected} purchases against "
        "{actual} actual ({error} off in total).",
        "在模型未见过的最近几个月数据上，它预测了 {expected} 次购买，实际为 {actual} 次（总体偏差 {error}）"
        "。",
    ),
    "method_stake": (
        "Value at stake is the value a customer's leaving would cost: the expected value over the next "
        "{months} months times the chance that the customer has already left (1 - P(alive)). Where no "
        "purchase model is available it is a year of spend at the customer's usual pace, capped at what "
        "the customer has spent per year so far.",
        "潜在损失价值是客户流失带来的损失：未来 {months} 个月的预期价值乘以客户已经流失的概率（1 减去仍是客"
        "户的概率）。没有购买模型时，"
        "取按客户通常节奏一年的消费，且不超过客户至今每年的实际消费。",
    ),
    "method_stake_degenerated": (
        "Value at stake is a year of spend at the customer's usual pace, capped at what the customer has "
        "spent per year so far: {model} has degenerated this period (see the caveat under Lifetime value), "
        "so neither its expected value nor its chance that a customer is still one is used for it.",
        "潜在损失价值取按客户通常节奏一年的消费，且不超过客户至今每年的实际消费：{model} 本期已退化"
        "（见终身价值下的提示），因此其预期价值和“仍为客户的概率”都不用于此。",
    ),
    "method_stake_churn_degenerated": (
        "Value at stake is the value a customer's leaving would cost: a year of spend at their usual pace, "
        "capped at what they have spent per year so far, times the churn risk; {model} has degenerated this "
        "period (see the caveat under Lifetime value), so its expected value is not used for it.",
        "潜在损失价值是客户流失带来的损失：按客户通常节奏一年的消费（不超过其至今每年的实际消费）乘以流失风险；"
        "{model} 本期已退化（见终身价值下的提示），因此其预期价值不用于此。",
    ),
    "method_stake_no_model": (
        "Value at stake is a year of spend at the customer's usual pace, capped at what the customer has "
        "spent per year so far (no purchase model was fitted this period).",
        "潜在损失价值取按客户通常节奏一年的消费，且不超过客户至今每年的实际消费（本期未拟合购买模型）。",
    ),
    "method_clv_missing": (
        "Lifetime value. Not estimated this period: {reason}.",
        "终身价值。本期未估计：{reason}。",
    ),
    # privacy (helpers.privacy): what the stakeholders' page says instead of a customer list, small groups
    "restricted_note": (
        "This part lists individual customers: it is in the {link}, which only the people it is shared with "
        "can open.",
        "此部分列出具体客户，见{link}，仅限获授权的人员打开。",
    ),
    "restricted_link": ("restricted report", "受限报告"),
    "restricted_unpublished": (
        "This part lists individual customers; it is not published.",
        "此部分列出具体客户，不予发布。",
    ),
    "small_groups": (
        "A group of fewer than {size} customers shows how many customers it has but not their spend, value "
        "or medians (–), which would be nearly one customer's own figures.",
        "客户数少于 {size} 的分组只显示客户数，不显示其消费、价值或中位数（–），以免接近于单个客户的数据。",
    ),
    "small_groups_none": (
        "Every group's figures are shown, however small.",
        "所有分组的数据均显示，无论大小。",
    ),
    "exports_left_out_none": (
        "The exports hold every customer of their lists: no marketing consent or do-not-contact list is "
        "recorded for this data.",
        "导出名单包含全部相关客户：本数据未记录营销同意或免打扰名单。",
    ),
    "exports_left_out_zero": (
        "No customer of the lists is left out of the exports: {reasons}.",
        "导出名单未排除任何客户：{reasons}。",
    ),
    "exports_all_consented": ("every one has marketing consent", "所有客户均已同意营销"),
    "exports_none_listed": ("none is on a do-not-contact list", "无人在免打扰名单上"),
    "exports_left_out": (
        "{count} customers are left out of the exports: {reasons}.",
        "导出名单排除了 {count} 位客户：{reasons}。",
    ),
    "exports_left_out_one": (
        "1 customer is left out of the exports: {reasons}.",
        "导出名单排除了 1 位客户：{reasons}。",
    ),
    "exports_without_consent": ("{count} without marketing consent", "{count} 位未同意营销"),
    "exports_on_list": ("{count} on a do-not-contact list", "{count} 位在免打扰名单上"),
    "exports_both": (" ({count} both)", "（其中 {count} 位两者皆是）"),
    # exports
    "exports_intro": (
        "Lists for a CRM or an e-mail tool: every customer of each segment (CSV), the churn warning, the "
        "priority list and each action list with its held-out customers marked (CSV, and Excel with their "
        "first 10,000 rows), and a data dictionary of every column. The detailed pages of the stages are "
        "for analysts.",
        "供 CRM 或邮件工具使用的名单：各分群的全部客户（CSV）、流失预警、优先名单和各行动名单（已标注对照组；"
        "CSV，以及包含前 10,000 行的 Excel），以及所有列的数据字典。各步骤的详细页面供分析师使用。",
    ),
    "export_segment": ("{segment}: every customer", "{segment}：全部客户"),
    "export_churn": ("Churn warning", "流失预警"),
    "export_next_best": ("Next best product per customer", "每位客户的下一个最佳商品"),
    "export_priority": ("Priority list (best scores first)", "优先名单（评分从高到低）"),
    "export_action": ("{list}: to contact and held out", "{list}：待联系与对照组"),
    "export_dictionary": ("Data dictionary", "数据字典"),
    "export_format": ("{label} ({format})", "{label}（{format}）"),
    "export_format_encrypted": ("{label} ({format}, encrypted)", "{label}（{format}，已加密）"),
    "stage_page": ("{number} · {title}", "{number} · {title}"),
    # reports/index.html
    "index_title": ("{project}: reports", "{project}：报告"),
    "index_period": ("period", "期间"),
    "index_window": ("window", "时间范围"),
    "index_buyers": ("customers who ordered", "下单客户数"),
    "index_revenue": ("revenue", "收入"),
    "index_change": ("vs previous", "环比"),
    "index_at_risk": ("at risk", "流失风险"),
    "index_clv": ("expected value", "预期价值"),
    "index_built": ("built", "生成时间"),
    "index_none_built": (
        "{count} period(s) defined; none has been built yet.",
        "已定义 {count} 个期间，尚未生成。",
    ),
    "index_no_dataset": ("No dataset is defined yet.", "尚未定义数据集。"),
}
TEXT.update(BEHAVIOUR_TEXT)
COLUMNS.update(BEHAVIOUR_COLUMNS)


SINGULAR_BY = ("count", "customers", "change")  # a sentence's "_one" form is taken when one of these is 1


# English nouns the sentences count: "1 visits" becomes "1 visit" whatever value filled in the 1.
COUNTED_NOUNS = (
    "answers|baskets|complaints|contacts|customers|days|events|leads|months|orders|products|reviews|rows|"
    "rules|searches|sessions|terms|times|visits|visitors"
)
ONE_OF_PLURAL = re.compile(rf"(?<![\d.,])\b1 ({COUNTED_NOUNS})\b")


def t(key: str, language: str, **values: object) -> str:
    """The sentence ``key`` in the page's language with ``values`` filled in; its ``<key>_one`` form,
    where there is one, when the number it counts (``count``, ``customers`` or ``change``) is 1; in
    English, a counted noun after a lone 1 in the singular ("of 1 reviews" -> "of 1 review")."""
    if key not in TEXT:
        raise KeyError(f"no text '{key}' in helpers/labels.py TEXT.")
    if f"{key}_one" in TEXT and any(str(values.get(name)) == "1" for name in SINGULAR_BY):
        key = f"{key}_one"
    english, chinese = TEXT[key]
    if language == "zh":
        return chinese.format(**values)
    return ONE_OF_PLURAL.sub(
        lambda match: f"1 {match[1].removesuffix('es' if match[1] == 'searches' else 's')}",
        english.format(**values),
    )


def join(items: list[str], language: str) -> str:
    """A list in words: "a, b and c" / "a、b和c"."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    separator = "、" if language == "zh" else ", "
    return separator.join(items[:-1]) + t("and", language) + items[-1]


STAGE_TITLES_ZH = {  # the catalog's stage titles, as the report's links name the stage pages
    "Ingest": "数据读取",
    "Cleaning and data quality": "数据清洗与质量",
    "RFM segments": "RFM 分群",
    "Behaviour and sales funnel": "行为与销售漏斗",
    "Voice of the customer": "客户之声",
    "Market basket": "购物篮分析",
    "Lifetime value": "终身价值",
    "Clusters": "客户聚类",
    "Scores and lifecycle": "评分与客户状态",
    "Scores, status and actions": "评分、客户状态与行动",
    "Customer report": "客户报告",
}


def stage_title(title: str, language: str) -> str:
    """A stage's title (from the catalog) in the page's language."""
    return STAGE_TITLES_ZH.get(title, title) if language == "zh" else title
