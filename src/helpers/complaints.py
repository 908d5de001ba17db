"""Complaint categories for complaints that come without one, decided offline from their (scrubbed)
text: a TF-IDF model over character n-grams and a linear classifier trained on the dataset's own
labelled complaints when there are enough of them, else the keyword rules of the params, else
"uncategorised".

Character n-grams (``analyzer="char_wb"``) need no word tokenizer, so Chinese complaints are classified
as well as English ones without downloading anything. The text never leaves the process and is never
written to a product: only the category and how it was decided are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.config import VoiceConfig

UNCATEGORISED = "uncategorised"
# How a complaint got its category (the ``category_source`` column).
GIVEN, MODEL, KEYWORDS, NONE = "given", "model", "keywords", "none"
NGRAMS = (1, 3)  # characters: 1-2 carry Chinese words, 3 English word pieces


@dataclass(frozen=True)
class Classification:
    """What the classifier did: its method (``given`` when every complaint had a category, ``model``,
    ``keywords`` or ``none``), the labelled complaints it learnt from, the held-out ones and its accuracy
    on them (model only), and how many complaints it categorised."""

    method: str
    labelled: int = 0
    train_rows: int = 0
    test_rows: int = 0
    accuracy: float | None = None
    classified: int = 0
    categories: tuple[str, ...] = ()

    def facts(self) -> dict:
        return {
            "method": self.method,
            "labelled": self.labelled,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "accuracy": self.accuracy,
            "classified": self.classified,
            "categories": list(self.categories),
        }


def _has(values: pd.Series) -> pd.Series:
    """Whether each value is a non-empty text."""
    return values.notna() & (values.astype("string").str.strip().fillna("") != "")


def _model(seed: int):
    """The TF-IDF (character n-grams within word boundaries) + logistic regression pipeline, seeded."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=True, sublinear_tf=True),
        LogisticRegression(max_iter=1000, random_state=seed),
    )


def held_out_accuracy(
    texts: pd.Series, labels: pd.Series, test_share: float, seed: int
) -> tuple[int, int, float]:
    """Train on a seeded share of the labelled complaints, measure on the rest: (train rows, test rows,
    accuracy). The split keeps each category's share when every category has two or more rows."""
    from sklearn.model_selection import train_test_split

    counts = labels.value_counts()
    stratify = labels if counts.min() >= 2 and len(counts) > 1 else None
    test_rows = max(1, int(round(len(labels) * test_share)))
    if stratify is not None and test_rows < len(counts):  # a stratified split needs a row per category
        stratify = None
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=test_rows, random_state=seed, stratify=stratify
    )
    if y_train.nunique() < 2:  # one category only: every complaint is that category
        accuracy = float((y_test == y_train.iloc[0]).mean())
    else:
        model = _model(seed).fit(x_train.tolist(), y_train.tolist())
        accuracy = float((model.predict(x_test.tolist()) == y_test.to_numpy()).mean())
    return len(y_train), len(y_test), accuracy


def keyword_category(text: str, keywords: dict[str, list[str]]) -> str:
    """The first category (in the params' order) with a word found in the text (case-insensitive), else
    ``uncategorised``."""
    lowered = text.casefold()
    for category, words in keywords.items():
        if any(word.casefold() in lowered for word in words):
            return category
    return UNCATEGORISED


def categorise(
    category: pd.Series, text: pd.Series, cfg: VoiceConfig, seed: int
) -> tuple[pd.Series, pd.Series, Classification]:
    """Each complaint's category and how it was decided (``given``, ``model``, ``keywords``, ``none``),
    and what the classification did.

    A complaint with a category keeps it. The others are classified from their text: by the model
    trained on the labelled complaints (those with a category and a text) when there are at least
    ``voice.min_labelled_complaints`` (its accuracy measured first on ``voice.classifier_test_share`` of
    them held out, then refitted on all), else by ``voice.complaint_keywords``, else (and always for an
    empty text) ``uncategorised``."""
    given = _has(category)
    with_text = _has(text)
    result = category.astype("string").str.strip().where(given)
    source = pd.Series(np.where(given, GIVEN, NONE), index=category.index, dtype="string")
    todo = ~given
    labelled = given & with_text
    if not todo.any():
        return result.astype("string"), source, Classification(GIVEN, labelled=int(labelled.sum()))
    to_classify = todo & with_text
    texts = text.astype("string").fillna("")
    if labelled.sum() >= cfg.min_labelled_complaints and result[labelled].nunique() >= 1:
        train_rows, test_rows, accuracy = held_out_accuracy(
            texts[labelled], result[labelled].astype(str), cfg.classifier_test_share, seed
        )
        if result[labelled].nunique() >= 2:
            model = _model(seed).fit(texts[labelled].tolist(), result[labelled].astype(str).tolist())
            predicted = model.predict(texts[to_classify].tolist()) if to_classify.any() else []
        else:
            predicted = [str(result[labelled].iloc[0])] * int(to_classify.sum())
        result[to_classify] = predicted
        source[to_classify] = MODEL
        info = Classification(
            MODEL,
            labelled=int(labelled.sum()),
            train_rows=train_rows,
            test_rows=test_rows,
            accuracy=accuracy,
            classified=int(to_classify.sum()),
            categories=tuple(sorted(result[labelled].astype(str).unique())),
        )
    elif cfg.complaint_keywords:
        found = texts[to_classify].map(lambda value: keyword_category(value, cfg.complaint_keywords))
        result[to_classify] = found
        source[to_classify] = np.where(found == UNCATEGORISED, NONE, KEYWORDS)
        info = Classification(
            KEYWORDS,
            labelled=int(labelled.sum()),
            classified=int((found != UNCATEGORISED).sum()),
            categories=tuple(cfg.complaint_keywords),
        )
    else:
        info = Classification(NONE, labelled=int(labelled.sum()))
    result = result.fillna(UNCATEGORISED)
    return result.astype("string"), source, info
