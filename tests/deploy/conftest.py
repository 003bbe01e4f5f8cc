"""Offline loading, rendering and schema validation of the manifests under deploy/.

Validation uses kubernetes-validate, which ships the Kubernetes JSON schemas inside the
package: nothing is fetched at test time. Strict mode rejects unknown fields, so a typo such as
``readinessProbes`` fails like a wrong type does.

Kustomizations are rendered by a small pure-Python subset of kustomize (resources, path
patches merged as maps, images). It refuses anything outside that subset rather than
rendering it wrongly: extend it together with the manifests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
K8S_DIR = DEPLOY_DIR / "kubernetes"

# Oldest Kubernetes minor we promise to support, and the newest whose schemas are bundled.
K8S_VERSIONS = ("1.28", kubernetes_validate.utils.latest_version())

KUSTOMIZATION = "kustomization.yaml"
SUPPORTED_KUSTOMIZE_KEYS = {"apiVersion", "kind", "resources", "patches", "images"}

Manifest = dict[str, Any]


class UnsupportedKustomization(Exception):
    """The kustomization uses a feature the test renderer does not implement."""


def load_documents(path: Path) -> list[Manifest]:
    """All non-empty YAML documents of a file."""
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in K8S_DIR.rglob(KUSTOMIZATION))


def patch_files() -> set[Path]:
    """Partial objects named as patches; they are validated only as part of a rendering."""
    return {
        (directory / entry["path"]).resolve()
        for directory in kustomization_dirs()
        for entry in load_documents(directory / KUSTOMIZATION)[0].get("patches", [])
    }


def manifest_files() -> list[Path]:
    """Every complete Kubernetes object file under deploy/kubernetes."""
    patches = patch_files()
    return sorted(p for p in K8S_DIR.rglob("*.yaml") if p.name != KUSTOMIZATION and p.resolve() not in patches)


def object_id(doc: Manifest) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def validate_manifest(doc: Manifest, version: str) -> None:
    """Raise kubernetes_validate.ValidationError if ``doc`` is not a valid object."""
    kubernetes_validate.validate(doc, version, strict=True)


def _merge_patch(target: Manifest, patch: Manifest, where: str) -> None:
    # Strategic merge on maps equals a deep merge; lists need merge keys we do not model.
    for key, value in patch.items():
        if isinstance(value, list):
            raise UnsupportedKustomization(f"{where}: list in patch at {key!r}")
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_patch(target[key], value, where)
        else:
            target[key] = copy.deepcopy(value)


def _set_images(docs: list[Manifest], images: list[dict[str, str]]) -> None:
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            name, _, tag = container["image"].partition(":")
            for image in images:
                if image["name"] == name:
                    name = image.get("newName", name)
                    tag = image.get("newTag", tag)
            container["image"] = f"{name}:{tag}" if tag else name


class KustomizeCycle(ValueError):
    """kustomize refuses a resource directory that contains a directory being rendered."""


def render_kustomization(directory: Path, _visiting: tuple[Path, ...] = ()) -> list[Manifest]:
    """Render ``directory``'s kustomization.yaml the way ``kubectl kustomize`` would."""
    directory = directory.resolve()
    visiting = (*_visiting, directory)
    kustomization = load_documents(directory / KUSTOMIZATION)[0]
    unsupported = set(kustomization) - SUPPORTED_KUSTOMIZE_KEYS
    if unsupported:
        raise UnsupportedKustomization(f"{directory}: {sorted(unsupported)}")

    docs: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if not path.is_dir():
            docs.extend(load_documents(path))
            continue
        # Same rule as kustomize's loader: an overlay must not live inside its own base.
        if any(path == v or path in v.parents for v in visiting):
            raise KustomizeCycle(f"{path} contains {directory}, which is being rendered")
        docs.extend(render_kustomization(path, visiting))

    ids = [object_id(doc) for doc in docs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{directory}: duplicate objects {sorted(duplicates)}")

    for entry in kustomization.get("patches", []):
        if set(entry) != {"path"}:
            raise UnsupportedKustomization(f"{directory}: patch {entry}")
        patch = load_documents(directory / entry["path"])[0]
        matches = [d for d in docs if object_id(d) == object_id(patch)]
        if len(matches) != 1:
            raise ValueError(f"{directory}: patch {entry['path']} matches {len(matches)} objects")
        _merge_patch(matches[0], {k: v for k, v in patch.items() if k != "metadata"}, entry["path"])

    _set_images(docs, kustomization.get("images", []))
    return docs


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrized here rather than in the test module so the module needs no imports from
    # this conftest, whatever pytest import mode the suite uses.
    if "k8s_version" in metafunc.fixturenames:
        metafunc.parametrize("k8s_version", K8S_VERSIONS)
    if "manifest" in metafunc.fixturenames:
        cases = [
            pytest.param(doc, id=f"{_relative(path)}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}")
            for path in manifest_files()
            for doc in load_documents(path)
        ]
        metafunc.parametrize("manifest", cases)
    if "kustomize_dir" in metafunc.fixturenames:
        metafunc.parametrize("kustomize_dir", kustomization_dirs(), ids=_relative)


@pytest.fixture
def render():
    return render_kustomization


@pytest.fixture
def validate():
    return validate_manifest


@pytest.fixture
def base_docs() -> list[Manifest]:
    return render_kustomization(K8S_DIR)


@pytest.fixture
def local_minio_docs() -> list[Manifest]:
    return render_kustomization(K8S_DIR / "overlays" / "local-minio")


@pytest.fixture
def deploy_dir() -> Path:
    return DEPLOY_DIR
