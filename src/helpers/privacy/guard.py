"""Fail closed: a run whose privacy settings cannot be honoured publishes nothing, and a published build
of the period that contradicts the settings now in force is withdrawn.

Before any notebook runs, :func:`preflight` checks what the settings need: the pseudonymisation and
encryption keys, the erasure list's key, the suppression lists, the group. When a run fails, for that
or any other reason, :func:`withdraw_contradicting` removes what the last good build published against
today's settings (customer ids in clear when they must be pseudonymised, products or exports in clear
when they must be encrypted, customer lists on a page that is now for aggregates only), and says so.

What a build published with is recorded in its ``run.json`` (:func:`published_facts`); for a build made
before that record existed it is read from the files themselves.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from helpers import catalog, paths
from helpers.privacy import audiences, encryption, keys

RUN_FILE = "run.json"


class PrivacyError(RuntimeError):
    """A privacy setting cannot be honoured; the message says which and what to do."""


def preflight(params, root: Path | None = None) -> None:
    """Check, before anything runs, that every privacy setting of the period can be honoured; one
    sentence (:class:`PrivacyError`) for the first that cannot."""
    from helpers.privacy import consent, forget, permissions

    privacy = params.privacy
    try:
        if privacy.pseudonymise_customer_id:
            keys.secret(privacy.key_env, "privacy.pseudonymise_customer_id")
        if privacy.encrypt_products:
            keys.secret(privacy.encryption_key_env, "privacy.encrypt_products")
        if privacy.encrypt_exports:
            keys.secret(privacy.encryption_key_env, "privacy.encrypt_exports")
        erased = forget.erased_hashes(params.dataset, root)
        if erased:
            forget.erasure_secret(params.dataset, privacy, len(erased))
        consent.suppressed_ids(privacy, root)
        permissions.Modes.of(privacy).gid()
    except (keys.KeyMissing, consent.ConsentError, PermissionError, forget.ErasureError) as exc:
        raise PrivacyError(str(exc)) from None


@dataclass(frozen=True)
class Facts:
    """What a published build holds, as far as the privacy settings are concerned."""

    pseudonymised: bool
    products_encrypted: bool | None  # None: no personal product to tell from
    exports_encrypted: bool | None  # None: no export
    customer_level_folders: tuple[str, ...]  # report folders ("." or a name) holding customer-level files


def published_facts(params, root: Path | None = None) -> Facts | None:
    """The privacy facts of the period's published build (None when nothing is published)."""
    products = paths.processed_dir(params.dataset, params.period, root)
    report = paths.report_dir(params.dataset, params.period, root)
    if not products.is_dir() and not report.is_dir():
        return None
    run_file = report / RUN_FILE
    recorded = json.loads(run_file.read_text()).get("privacy") if run_file.is_file() else None
    if recorded:
        return Facts(
            recorded["customer_ids"] == "pseudonymised",
            recorded["products_encrypted"] if products.is_dir() else None,
            recorded["exports_encrypted"] if _exports(report) else None,
            tuple(recorded["customer_level_folders"]),
        )
    personal = [
        path
        for ref in ("ingested:transactions", "clean:transactions", "rfm")
        if (path := products / catalog.file_of(ref)).is_file()
    ]
    exported = _exports(report)
    notebooks = [p.parent for p in report.glob("**/notebooks") if p.is_dir()]
    return Facts(
        catalog.ids_pseudonymised(params.dataset, params.period, root),
        all(encryption.encrypted_kind(p) for p in personal) if personal else None,
        all(p.name.endswith(encryption.ENCRYPTED_SUFFIX) for p in exported) if exported else None,
        tuple(
            sorted(
                {_folder_of(p.parent.parent, report) for p in exported}
                | {_folder_of(p, report) for p in notebooks}
            )
        ),
    )


def _exports(report: Path) -> list[Path]:
    """The exported lists under a published report folder (any audience's folder)."""
    return sorted(p for p in report.glob("**/exports/*") if p.is_file() and "data_dictionary" not in p.name)


def _folder_of(folder: Path, report: Path) -> str:
    """The audience folder ("." or a name) that holds ``folder`` (an exports or notebooks folder's parent)."""
    parts = folder.relative_to(report).parts
    return parts[0] if parts else "."


def facts_to_record(params, report_layout: audiences.Layout) -> dict:
    """The ``privacy`` block a publishing run writes into run.json."""
    privacy = params.privacy
    folders = [str(report_layout.work.relative_to(report_layout.root)) or "."]
    return {
        "customer_ids": "pseudonymised" if privacy.pseudonymise_customer_id else "in clear",
        "products_encrypted": privacy.encrypt_products,
        "exports_encrypted": privacy.encrypt_exports,
        "customer_level_folders": folders if report_layout.work_published else [],
    }


def withdraw_contradicting(params, root: Path | None = None) -> list[str]:
    """Remove what the period's published build holds against the settings now in force; one sentence
    per withdrawal (none when nothing contradicts)."""
    facts = published_facts(params, root)
    if facts is None:
        return []
    privacy, label = params.privacy, f"{params.dataset} {params.period}"
    products = paths.processed_dir(params.dataset, params.period, root)
    report = paths.report_dir(params.dataset, params.period, root)
    said = []
    aggregate = {a.folder for a in params.report.audiences.values() if not a.customer_level}
    if privacy.pseudonymise_customer_id and not facts.pseudonymised:
        _remove(products, report)
        return [
            f"The published report and products of {label} were withdrawn: they hold customer ids in clear, "
            "and privacy.pseudonymise_customer_id now requires pseudonymised ids."
        ]
    if set(facts.customer_level_folders) & aggregate:
        _remove(products, report)
        return [
            f"The published report and products of {label} were withdrawn: its page lists individual "
            "customers, and report.audiences now gives that page to readers of aggregates only."
        ]
    if privacy.encrypt_products and facts.products_encrypted is False:
        _remove(products)
        said.append(
            f"The published products of {label} were withdrawn: they are not encrypted, and "
            "privacy.encrypt_products now requires them to be."
        )
    if privacy.encrypt_exports and facts.exports_encrypted is False:
        _remove(*{p.parent for p in _exports(report)})
        said.append(
            f"The published exports of {label} were withdrawn: they are not encrypted, and "
            "privacy.encrypt_exports now requires them to be."
        )
    return said


def _remove(*folders: Path) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
