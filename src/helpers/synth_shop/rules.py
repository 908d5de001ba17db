"""The generating rules of the demo shop and its planted effects: every number docs/demo_data.md
quotes, and the messy names and texts the files use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

START, END = dt.date(2023, 1, 1), dt.date(2024, 12, 31)  # `make data`: 20,000 customers, seed 20240101

SEGMENTS = ("loyal", "regular", "occasional")  # hidden: drives purchase rate, churn and satisfaction
SEGMENT_SHARES = (0.15, 0.35, 0.50)
DAYS_BETWEEN_ORDERS = {"loyal": 25.0, "regular": 70.0, "occasional": 180.0}  # mean; Gamma(3) spread
MONTHLY_CHURN = {"loyal": 0.01, "regular": 0.025, "occasional": 0.05}
PROSPECT_SHARE = 0.10  # customers in the customers file who never buy
REGIONS = ("North", "South", "East", "West", "Central")
CITIES = {
    "North": ("Beijing", "Tianjin", "Shenyang"),
    "South": ("Guangzhou", "Shenzhen", "Xiamen"),
    "East": ("Shanghai", "Hangzhou", "Nanjing"),
    "West": ("Chengdu", "Chongqing", "Xi'an"),
    "Central": ("Wuhan", "Changsha", "Zhengzhou"),
}
CATEGORIES = ("Outdoor", "Kitchen", "Electronics", "Books", "Beauty", "Toys")
PRODUCTS_PER_CATEGORY = 10
CHANNELS = ("web", "app", "store")
CHANNEL_SHARES = (0.5, 0.3, 0.2)


@dataclass(frozen=True)
class Effects:
    """The planted effects (docs/demo_data.md gives each with what it does to the data)."""

    # 1. Market basket: when an order holds the coffee grinder, the coffee beans are added with this
    # probability (if not there already): lift of the pair about 3.
    pair: tuple[str, str] = ("P011", "P012")
    pair_add_probability: float = 0.13
    # 2. Funnel: of the sessions that reach checkout, this share ends in a purchase, by channel: the app
    # loses about 40% of its carts at checkout, the web about 10%.
    checkout_conversion: dict[str, float] = field(default_factory=lambda: {"web": 0.90, "app": 0.60})
    # 3. Complaints: a customer's first complaint left unresolved makes them stop buying with this
    # probability (a resolved one: no effect): they lapse about twice as often.
    complaint_share_of_orders: float = 0.05
    complaint_resolved_share: float = 0.6
    unresolved_complaint_leave: float = 0.41
    # 4. Satisfaction: survey answers (promoter 9-10, passive 7-8, detractor 0-6) by hidden segment.
    nps_mix: dict[str, tuple[float, float, float]] = field(
        default_factory=lambda: {
            "loyal": (0.70, 0.20, 0.10),
            "regular": (0.40, 0.40, 0.20),
            "occasional": (0.15, 0.40, 0.45),
        }
    )
    # 5. Sales pipeline: probability of reaching the next stage and median days before it, per stage;
    # "needs analysis" is the bottleneck (lowest conversion, longest wait).
    stage_conversion: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "lead": (0.80, 2.0),
            "contacted": (0.70, 4.0),
            "needs analysis": (0.35, 21.0),
            "proposal": (0.60, 7.0),
        }
    )
    # 6. Region x category: West customers weight Outdoor products this many times more.
    region_category: tuple[str, str, float] = ("West", "Outdoor", 5.0)


EFFECTS = Effects()
STAGES = ("lead", "contacted", "needs analysis", "proposal", "contract")

# Messy raw names: the canonical event type -> the names the source uses (chosen at random).
EVENT_NAMES = {
    "page_view": ("page_view", "PageView", "PAGE_VIEW"),
    "product_view": ("view_item", "product_view"),
    "search": ("search", "Search"),
    "add_to_cart": ("add_to_cart", "AddToCart"),
    "checkout": ("begin_checkout",),
    "purchase": ("purchase", "Purchase"),
    "store_visit": ("store_visit",),
    "app_open": ("app_open", "APP_OPEN"),
}
EVENT_VALUES = {"pageview": "page_view", "view_item": "product_view", "addtocart": "add_to_cart"}
EVENT_VALUES["begin_checkout"] = "checkout"
CONTACT_NAMES = {"phone": ("Phone", "phone"), "email": ("E-mail", "email"), "chat": ("chat",)}
CONTACT_NAMES |= {"social": ("WeChat",), "visit": ("store visit",), "event": ("event",)}
CONTACT_VALUES = {"e-mail": "email", "wechat": "social", "store visit": "visit"}
FEEDBACK_KIND_NAMES = {
    "survey": ("Survey", "survey"),
    "complaint": ("complaint", "投诉"),
    "review": ("Review",),
}
FEEDBACK_VALUES = {"投诉": "complaint"}
CONSENT_WORDS = {True: ("yes", "Y", "true", "1", "是"), False: ("no", "N", "false", "0", "否")}

SURNAMES_ZH = list("王李张刘陈杨黄赵吴周")
GIVEN_ZH = list("伟芳娜敏静丽强磊洋艳勇军杰娟涛")
FIRST_EN = ["Ann", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack", "Kate", "Leo"]
LAST_EN = ["Smith", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Hughes", "Green", "Hall"]
AREA_CODES = ("110105", "310104", "440106", "510107", "420102")

COMPLAINT_TEXTS = {
    "en": [
        ("delivery", "The parcel for order {order} arrived damaged. Please call me on {phone}."),
        ("billing", "I was charged twice for order {order}, my card {card} shows two payments."),
        ("service", "Nobody answered my e-mail to support. Contact me at {email}. {name}"),
        ("product quality", "Wrong size delivered for order {order}, I want a refund."),
        ("delivery", "Delivery of order {order} was five days late."),
    ],
    "zh": [
        ("delivery", "订单{order}的包裹破损了，请打电话{phone}联系我。"),
        ("billing", "会员信息登记错误，我的身份证号是{id_number}，请更正。"),
        ("service", "客服一直没有回复，我的邮箱是{email}。{name}"),
        ("product quality", "订单{order}收到的商品尺码不对，要求退款。"),
        ("delivery", "订单{order}的快递晚了五天才到。"),
    ],
}
CONTACT_TOPICS = {
    "en": [
        "Question about delivery of order {order}",
        "Asked to update phone number to {phone}",
        "Return of an item from order {order}",
        "Loyalty points question",
    ],
    "zh": ["咨询订单{order}的物流", "要求把电话改成{phone}", "咨询退货流程", "会员积分问题"],
}
SEARCH_TERMS = ("tent", "coffee", "headphones", "novel", "lipstick", "lego", "kettle", "hiking boots")
