"""The deployment files under deploy/, checked offline.

Schema validity against the Kubernetes API (bundled JSON schemas, strict: unknown fields fail),
plus the properties a reviewer relies on: non-root, read-only root filesystem, resources,
probes on the server's real endpoints, and the wiring between objects.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

SERVER = "filters-server"
SERVER_PORT = 43809
SERVER_UID = 10001
KNOWN_SETTINGS = {
    "FILTERS_HOST",
    "FILTERS_PORT",
    "FILTERS_BASE_PATH",
    "FILTERS_STORAGE",
    "FILTERS_S3_ENDPOINT_URL",
    "FILTERS_S3_REGION",
    "FILTERS_S3_CREATE_BUCKET",
    "FILTERS_USERS",
    "FILTERS_USERS_FILE",
    "FILTERS_TTL_SECONDS",
    "FILTERS_SWEEP_INTERVAL_SECONDS",
    "FILTERS_MAX_UPLOAD_BYTES",
    "FILTERS_MAX_PIXELS",
    "FILTERS_PUBLIC_URL",
    "FILTERS_LOG_LEVEL",
    "FILTERS_LOG_FORMAT",
    "FILTERS_WORKERS",
    "FILTERS_QUEUE_DEPTH",
}
OUT_OF_BAND_SECRET = ("Secret", "filters-server-secrets")  # the base names it; operators create it
K8S_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
AWS_SETTINGS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_SESSION_TOKEN"}


def find(docs, kind, name):
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def server_container(docs):
    pod = find(docs, "Deployment", SERVER)["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == SERVER]
    return container


def named_port(container, name):
    [port] = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return port


def all_containers(pod):
    return pod.get("initContainers", []) + pod["containers"]


def pod_specs_of(docs):
    """(workload, pod spec) for every rendered object that runs pods."""
    return [(d, d["spec"]["template"]["spec"]) for d in docs if "template" in d.get("spec", {})]


# --- schema validity ----------------------------------------------------------------------


def test_every_manifest_is_a_valid_kubernetes_object(manifest, k8s_version, validate):
    validate(manifest, k8s_version)


def test_every_kustomization_renders_to_valid_kubernetes_objects(kustomize_dir, k8s_version, render, validate):
    docs = render(kustomize_dir)
    assert docs
    for doc in docs:
        validate(doc, k8s_version)


# Documented examples that a kustomization deliberately does not apply.
UNLISTED_EXAMPLES = {K8S_DIR / "base" / "secret.example.yaml"}


def test_every_manifest_file_is_listed_in_its_kustomization(kustomize_dir):
    listed = yaml.safe_load((kustomize_dir / "kustomization.yaml").read_text())
    referenced = set(listed.get("resources", [])) | {p["path"] for p in listed.get("patches", [])}
    on_disk = {
        p.name for p in kustomize_dir.glob("*.yaml") if p.name != "kustomization.yaml" and p not in UNLISTED_EXAMPLES
    }
    assert on_disk <= referenced


def test_validator_rejects_a_field_of_the_wrong_type(base_docs, validate):
    broken = copy.deepcopy(find(base_docs, "Deployment", SERVER))
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken, "1.28")


def test_validator_rejects_a_misspelled_field(base_docs, validate):
    broken = copy.deepcopy(find(base_docs, "Deployment", SERVER))
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbes"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken, "1.28")


def test_renderer_rejects_an_overlay_inside_its_own_base(tmp_path, render):
    # kubectl kustomize fails with "cycle detected" on this layout; the renderer must too.
    overlay = tmp_path / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    (overlay / "kustomization.yaml").write_text("resources: [../..]\n")
    with pytest.raises(ValueError, match="contains"):
        render(overlay)


def test_manifests_are_namespace_agnostic(manifest):
    assert "namespace" not in manifest["metadata"]


# --- security ---------------------------------------------------------------------------------


def test_every_container_runs_as_non_root(kustomize_dir, render):
    for workload, pod in pod_specs_of(render(kustomize_dir)):
        pod_ctx = pod.get("securityContext", {})
        for c in all_containers(pod):
            ctx = {**pod_ctx, **c.get("securityContext", {})}
            assert ctx.get("runAsNonRoot") is True, (workload["metadata"]["name"], c["name"])
            assert ctx.get("runAsUser", 0) != 0, (workload["metadata"]["name"], c["name"])


def test_every_container_is_locked_down(kustomize_dir, render):
    for workload, pod in pod_specs_of(render(kustomize_dir)):
        for c in all_containers(pod):
            ctx = c.get("securityContext", {})
            where = (workload["metadata"]["name"], c["name"])
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not ctx.get("privileged", False), where


def test_every_pod_uses_the_runtime_default_seccomp_profile(kustomize_dir, render):
    for workload, pod in pod_specs_of(render(kustomize_dir)):
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", workload["metadata"]["name"]


def test_no_pod_mounts_a_kubernetes_api_token(kustomize_dir, render):
    for workload, pod in pod_specs_of(render(kustomize_dir)):
        assert pod.get("automountServiceAccountToken") is False, workload["metadata"]["name"]


def test_every_container_has_cpu_and_memory_requests_and_limits(kustomize_dir, render):
    for workload, pod in pod_specs_of(render(kustomize_dir)):
        for c in all_containers(pod):
            resources = c.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (
                    workload["metadata"]["name"],
                    c["name"],
                    bound,
                )


def test_server_tmp_is_a_writable_empty_dir(base_docs):
    pod = find(base_docs, "Deployment", SERVER)["spec"]["template"]["spec"]
    [mount] = [m for m in server_container(base_docs)["volumeMounts"] if m["mountPath"] == "/tmp"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume
    assert not mount.get("readOnly", False)


def test_server_runs_as_the_image_user(base_docs, deploy_dir):
    dockerfile_user = re.findall(r"^USER\s+(\d+)", (deploy_dir / "Dockerfile").read_text(), re.M)[-1]
    pod = find(base_docs, "Deployment", SERVER)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_user) == SERVER_UID


# --- server wiring ----------------------------------------------------------------------------


def test_server_listens_on_the_api_port(base_docs):
    assert named_port(server_container(base_docs), "http") == SERVER_PORT


@pytest.mark.parametrize(
    ("probe", "path"),
    [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")],
)
def test_server_probes_hit_the_health_endpoints(base_docs, probe, path):
    container = server_container(base_docs)
    http = container[probe]["httpGet"]
    port = http["port"] if isinstance(http["port"], int) else named_port(container, http["port"])
    assert (http["path"], port) == (path, SERVER_PORT)


def test_service_targets_the_server_container_port(base_docs):
    service = find(base_docs, "Service", SERVER)
    container = server_container(base_docs)
    [port] = service["spec"]["ports"]
    target = port["targetPort"]
    target = target if isinstance(target, int) else named_port(container, target)
    assert (service["spec"]["type"], port["port"], target) == ("ClusterIP", SERVER_PORT, SERVER_PORT)


@pytest.mark.parametrize(
    ("kind", "path"),
    [("Service", ("spec", "selector")), ("PodDisruptionBudget", ("spec", "selector", "matchLabels"))],
    ids=["Service", "PodDisruptionBudget"],
)
def test_selectors_match_the_server_pods(base_docs, kind, path):
    selector = find(base_docs, kind, SERVER)
    for key in path:
        selector = selector[key]
    labels = find(base_docs, "Deployment", SERVER)["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items()


def test_autoscaler_scales_the_server_on_cpu(base_docs):
    hpa = find(base_docs, "HorizontalPodAutoscaler", SERVER)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": SERVER}
    [metric] = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert hpa["minReplicas"] >= 1


def test_prometheus_scrapes_metrics_on_the_api_port(base_docs):
    annotations = find(base_docs, "Deployment", SERVER)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == SERVER_PORT


def test_server_environment_sources_exist(kustomize_dir, render):
    docs = render(kustomize_dir)
    for _, pod in pod_specs_of(docs):
        for c in all_containers(pod):
            for source in c.get("envFrom", []):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if key in source and (kind, source[key]["name"]) != OUT_OF_BAND_SECRET:
                        find(docs, kind, source[key]["name"])


@pytest.mark.parametrize("entry", ["base", "."], ids=["base", "production"])
def test_the_production_manifests_apply_no_secret(render, entry):
    docs = render(K8S_DIR / entry)
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"] == []
    envs = [
        s
        for c in all_containers(find(docs, "Deployment", SERVER)["spec"]["template"]["spec"])
        for s in c.get("envFrom", [])
    ]
    assert {"secretRef": {"name": OUT_OF_BAND_SECRET[1]}} in envs  # created out of band, as documented


def test_the_server_secret_has_a_documented_example_that_is_not_applied(deploy_dir):
    example = K8S_DIR / "base" / "secret.example.yaml"
    [secret] = yaml.safe_load_all(example.read_text())
    assert (secret["kind"], secret["metadata"]["name"]) == OUT_OF_BAND_SECRET
    assert (
        "secret.example.yaml" not in yaml.safe_load((K8S_DIR / "base" / "kustomization.yaml").read_text())["resources"]
    )
    assert (
        f"kubectl -n dsio-filters create secret generic {OUT_OF_BAND_SECRET[1]}"
        in (deploy_dir / "README.md").read_text()
    )


def test_server_config_holds_only_known_settings(kustomize_dir, render):
    docs = render(kustomize_dir)
    configs = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"{SERVER}-config"]
    for config in configs:
        assert set(config["data"]) <= KNOWN_SETTINGS
        assert config["data"]["FILTERS_HOST"] == "0.0.0.0"
        assert int(config["data"]["FILTERS_PORT"]) == SERVER_PORT


def test_server_stores_images_on_s3(base_docs):
    assert find(base_docs, "ConfigMap", f"{SERVER}-config")["data"]["FILTERS_STORAGE"] == "s3://dsio-filters/images"


def test_example_secrets_are_marked_and_hold_only_known_keys():
    secrets = [
        doc
        for path in K8S_DIR.rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "Secret"
    ]
    assert secrets
    for secret in secrets:
        assert secret["metadata"]["annotations"]["dsio-filters/example"] == "true"
        assert "data" not in secret
        assert set(secret["stringData"]) <= KNOWN_SETTINGS | AWS_SETTINGS | {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}


# --- local MinIO overlay ------------------------------------------------------------------------


def test_local_overlay_points_the_server_at_minio(local_minio_docs):
    data = find(local_minio_docs, "ConfigMap", f"{SERVER}-config")["data"]
    assert data["FILTERS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert data["FILTERS_S3_CREATE_BUCKET"] == "1"
    minio_service = find(local_minio_docs, "Service", "minio")
    assert 9000 in [p["port"] for p in minio_service["spec"]["ports"]]


def test_local_overlay_gives_the_server_the_minio_credentials(local_minio_docs):
    server = find(local_minio_docs, "Secret", f"{SERVER}-secrets")["stringData"]
    minio = find(local_minio_docs, "Secret", "minio-credentials")["stringData"]
    assert (server["AWS_ACCESS_KEY_ID"], server["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )


def test_local_overlay_bucket_job_creates_the_configured_bucket(local_minio_docs):
    bucket = find(local_minio_docs, "ConfigMap", f"{SERVER}-config")["data"]["FILTERS_STORAGE"].split("/")[2]
    job = find(local_minio_docs, "Job", "minio-create-bucket")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"mc mb --ignore-existing local/{bucket}" in script


def test_local_overlay_uses_the_locally_loaded_image(local_minio_docs):
    assert server_container(local_minio_docs)["image"] == "dsio-filters-server:local"


def test_local_overlay_keeps_the_base_unchanged(base_docs, local_minio_docs):
    # The renderer must not leak overlay patches into the base.
    assert find(base_docs, "Deployment", SERVER)["spec"]["replicas"] == 3
    assert find(local_minio_docs, "Deployment", SERVER)["spec"]["replicas"] == 1


# --- example configurations -----------------------------------------------------------------


def env_file_keys(path: Path):
    keys = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, _ = line.partition("=")
            assert sep, f"{path.name}: {line!r} is not KEY=value"
            keys.append(key)
    return keys


@pytest.mark.parametrize("name", ["local-disk.env", "s3.env"])
def test_example_env_files_use_known_settings(deploy_dir, name):
    keys = env_file_keys(deploy_dir / "examples" / name)
    assert keys and set(keys) <= KNOWN_SETTINGS | AWS_SETTINGS
    assert len(keys) == len(set(keys))
