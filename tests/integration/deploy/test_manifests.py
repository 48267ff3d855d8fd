"""deploy/ is valid for the real validators, and says what issue 14 asks of it: a Deployment per API
and per worker queue, one beat, a migration Job, probes on /healthz and /readyz, limits, autoscalers,
disruption budgets, network policies, secrets only by reference, a locked-down pod; and a broken
manifest, compose file or Dockerfile is refused. Runs kubectl (kustomize) and hadolint from the
test extras; needs no cluster and no Docker engine."""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from eigenregie.bootstrap import SERVICES
from eigenregie.entrypoints.cli import build_parser
from shared.config import Settings
from tests.support.deploy_manifests import (
    COMPOSE_FILE,
    DOCKERFILE,
    KUBERNETES_VERSIONS,
    KUSTOMIZE,
    OVERLAYS,
    by_kind,
    compose_problems,
    hadolint_problems,
    pod_specs,
    render,
    schema_problems,
    tool,
)

# What the pods need from the Secret; none of it may appear as a value in deploy/ or the ConfigMap.
SECRET_NAMES = {
    "DATABASE_URL",
    "BROKER_URL",
    "PRB_JWT_SECRET",
    "PRB_DATA_KEYS",
    "PRB_BSN_HASH_KEY",
    "PRB_SIGNING_KEYS",
    "PRB_SMTP_PASSWORD",
    "PRB_OIDC_CLIENT_SECRET",
    "PRB_SMS_ACCESS_KEY",
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay: render(KUSTOMIZE / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def keda(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The base with the KEDA component, as an overlay that uses it would render."""
    folder = tmp_path_factory.mktemp("keda-overlay")
    (folder / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(KUSTOMIZE / "base", folder)],
                "components": [os.path.relpath(KUSTOMIZE / "components" / "keda", folder)],
            }
        )
    )
    return render(folder)


def _parses_as_prb(command: list[str]) -> None:
    assert command[0] == "prb", command
    build_parser().parse_args(command[1:])  # exits (SystemExit) on an unknown command or option


# --- the validators -------------------------------------------------------------------------------


def test_the_overlays_are_the_ones_the_docs_name():
    assert OVERLAYS == ["acceptance", "production"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_and_passes_the_kubernetes_schemas(rendered, overlay, version):
    assert rendered[overlay], overlay
    assert schema_problems(rendered[overlay], version) == []


def test_a_broken_manifest_in_the_base_fails_rendering_or_the_schemas(tmp_path):
    copy_of = tmp_path / "kustomize"
    shutil.copytree(KUSTOMIZE, copy_of)
    apis = copy_of / "base" / "apis.yaml"
    apis.write_text(apis.read_text().replace("readinessProbe:", "readinesProbe:", 1))
    problems = schema_problems(render(copy_of / "overlays" / "production"), KUBERNETES_VERSIONS[-1])
    assert any("intake-api" in p and "readinesProbe" in p for p in problems), problems

    apis.write_text(apis.read_text().replace("command: [", "command: [[", 1))  # YAML that does not parse
    with pytest.raises(AssertionError, match="kubectl kustomize .* failed"):
        render(copy_of / "overlays" / "production")


def test_a_wrong_type_is_refused_by_the_schemas(rendered):
    broken = copy.deepcopy(by_kind(rendered["production"], "Deployment")["beat"])
    broken["spec"]["replicas"] = "one"
    assert schema_problems([broken], KUBERNETES_VERSIONS[-1]) != []


def test_the_compose_file_passes_the_compose_spec_schema():
    assert compose_problems(COMPOSE_FILE) == []


def test_a_broken_compose_file_is_refused(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE_FILE.read_text()
    assert "    restart: unless-stopped\n" in text
    broken.write_text(
        text.replace("    restart: unless-stopped\n", "    restart: unless-stopped\n    restarts: 3\n", 1)
    )
    assert any("restarts" in p for p in compose_problems(broken))


def test_the_dockerfile_passes_hadolint():
    assert hadolint_problems(DOCKERFILE) == []


def test_a_dockerfile_hadolint_warns_about_is_refused(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text() + "\nRUN apt-get update && apt-get install -y curl\n")
    assert any("DL3008" in p or "DL3009" in p or "DL3015" in p for p in hadolint_problems(broken))


# --- what the manifests say -----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_deployment_per_api_and_per_worker_queue_one_relay_and_one_beat(rendered, overlay):
    deployments = by_kind(rendered[overlay], "Deployment")
    expected = {f"{s}-api" for s in SERVICES} | {f"{s}-worker" for s in SERVICES} | {"relay", "beat"}
    assert set(deployments) == expected
    for service in SERVICES:
        worker = deployments[f"{service}-worker"]["spec"]["template"]["spec"]["containers"][0]["command"]
        assert worker[:3] == ["prb", "worker", service]
        api = deployments[f"{service}-api"]["spec"]["template"]["spec"]["containers"][0]["command"]
        assert api[:3] == ["prb", "serve", service] and "0.0.0.0" in api
    beat = deployments["beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
    assert not any(
        h["spec"]["scaleTargetRef"]["name"] == "beat"
        for h in by_kind(rendered[overlay], "HorizontalPodAutoscaler").values()
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_command_and_exec_probe_is_a_prb_command_that_exists(rendered, overlay):
    for _name, spec in pod_specs(rendered[overlay]):
        container = spec["containers"][0]
        _parses_as_prb(container["command"])
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if "exec" in container.get(probe, {}):
                _parses_as_prb(container[probe]["exec"]["command"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_runs_prb_migrate_once_and_is_not_retried_for_ever(rendered, overlay):
    jobs = by_kind(rendered[overlay], "Job")
    assert list(jobs) == ["migrate"]
    spec = jobs["migrate"]["spec"]
    assert spec["template"]["spec"]["containers"][0]["command"] == ["prb", "migrate"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never" and spec["backoffLimit"] <= 5


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_apis_are_probed_on_healthz_for_liveness_and_readyz_for_readiness(rendered, overlay):
    for service in SERVICES:
        pod = by_kind(rendered[overlay], "Deployment")[f"{service}-api"]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000, "metrics": 9100}


@pytest.mark.parametrize("service", SERVICES)
def test_the_probed_routes_exist_on_each_service_api(service, tmp_path):
    from eigenregie.bootstrap import build_runtime
    from eigenregie.entrypoints.web import create_app

    app = create_app(build_runtime(Settings(data_dir=tmp_path), services=[service]), embedded=False)
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/healthz", "/readyz"} <= paths


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_locked_down_with_limits(rendered, overlay):
    accounts = by_kind(rendered[overlay], "ServiceAccount")
    for name, spec in pod_specs(rendered[overlay]):
        assert spec["automountServiceAccountToken"] is False, name
        assert accounts[spec["serviceAccountName"]]["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"] and "add" not in context["capabilities"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name}: {bound}"
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", "/var/lib/eigenregie"} <= mounts, name  # the writable places prb needs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_only_from_the_secret_by_reference(rendered, overlay):
    objects = rendered[overlay]
    assert by_kind(objects, "Secret") == {}
    for config in by_kind(objects, "ConfigMap").values():
        assert not SECRET_NAMES & set(config["data"]), config["metadata"]["name"]
    for name, spec in pod_specs(objects):
        container = spec["containers"][0]
        assert {"secretRef": {"name": "eigen-regie-secrets"}} in container["envFrom"], name
        assert not [e for e in container.get("env", []) if "value" in e and e["name"] in SECRET_NAMES], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_pinned_image_for_every_pod(rendered, overlay):
    images = {c["image"] for _, spec in pod_specs(rendered[overlay]) for c in spec["containers"]}
    assert len(images) == 1
    (image,) = images
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_worker_queue_has_an_autoscaler_and_production_scales_on_queue_length(rendered, overlay):
    autoscalers = by_kind(rendered[overlay], "HorizontalPodAutoscaler")
    assert set(autoscalers) == {f"{s}-worker" for s in SERVICES}
    for service in SERVICES:
        spec = autoscalers[f"{service}-worker"]["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{service}-worker"}
        assert 1 <= spec["minReplicas"] < spec["maxReplicas"]
        external = [m["external"] for m in spec["metrics"] if m["type"] == "External"]
        if overlay == "production":
            assert external and external[0]["metric"]["selector"]["matchLabels"] == {"key": service}
        else:
            assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]


def test_the_keda_component_scales_each_worker_on_its_own_redis_list_instead_of_an_autoscaler(keda):
    assert by_kind(keda, "HorizontalPodAutoscaler") == {}
    deployments = by_kind(keda, "Deployment")
    scaled = by_kind(keda, "ScaledObject")
    assert set(scaled) == {f"{s}-worker" for s in SERVICES}
    for service in SERVICES:
        spec = scaled[f"{service}-worker"]["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == service
        assert trigger["authenticationRef"]["name"] in by_kind(keda, "TriggerAuthentication")
    assert schema_problems(keda, KUBERNETES_VERSIONS[-1]) == []


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_but_beat_has_a_disruption_budget_that_selects_it(rendered, overlay):
    budgets = by_kind(rendered[overlay], "PodDisruptionBudget")
    for name, deployment in by_kind(rendered[overlay], "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets.values() if _selects(b["spec"]["selector"]["matchLabels"], labels)]
        assert len(matching) == (0 if name == "beat" else 1), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_admit_http_to_apis_and_metrics_to_monitoring_only_and_reach_the_data_stores(rendered, overlay):
    policies = by_kind(rendered[overlay], "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny and "egress" not in deny
    for name, deployment in by_kind(rendered[overlay], "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _selects(deny["podSelector"]["matchLabels"], labels), name
        admitting = [
            p["spec"]
            for policy_name, p in policies.items()
            if policy_name != "metrics-from-monitoring"
            and p["spec"].get("ingress")
            and _selects(p["spec"]["podSelector"]["matchLabels"], labels)
        ]
        metrics = policies["metrics-from-monitoring"]["spec"]
        assert _selects(metrics["podSelector"]["matchLabels"], labels), name
        assert [port["port"] for rule in metrics["ingress"] for port in rule["ports"]] == [9100]
        assert [peer["namespaceSelector"]["matchLabels"] for rule in metrics["ingress"] for peer in rule["from"]] == [
            {"kubernetes.io/metadata.name": "monitoring"}
        ]
        if labels["app.kubernetes.io/component"] == "api":
            assert admitting and all(
                port["port"] == 8000 for p in admitting for rule in p["ingress"] for port in rule["ports"]
            ), name
        else:
            assert admitting == [], f"{name} accepts connections"
        egress_ports = {
            port["port"]
            for p in policies.values()
            if _selects(p["spec"]["podSelector"]["matchLabels"], labels)
            for rule in p["spec"].get("egress", [])
            for port in rule.get("ports", [])
        }
        assert {53, 5432, 6379} <= egress_ports, name
    notifications = by_kind(rendered[overlay], "Deployment")["notifications-worker"]["spec"]["template"]["metadata"]
    smtp = {
        port["port"]
        for p in policies.values()
        if _selects(p["spec"]["podSelector"]["matchLabels"], notifications["labels"])
        for rule in p["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }
    assert {587, 443} <= smtp


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_each_api_prefix_to_its_service(rendered, overlay):
    (ingress,) = by_kind(rendered[overlay], "Ingress").values()
    services = by_kind(rendered[overlay], "Service")
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    for service in SERVICES:
        assert routes.get(f"/{service}/", routes["/"]) == service
    assert set(routes.values()) <= set(services)
    assert ingress["spec"]["rules"][0]["host"] in ingress["spec"]["tls"][0]["hosts"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_environment_of_each_overlay_starts_in_its_settings(rendered, overlay):
    (config,) = by_kind(rendered[overlay], "ConfigMap").values()
    assert config["data"]["PRB_ENVIRONMENT"] == overlay
    allowed = {f"PRB_{name.upper()}" for name in Settings.model_fields} | {"MPLCONFIGDIR"}
    assert set(config["data"]) <= allowed, set(config["data"]) - allowed


# --- docker-compose.yml and the Dockerfile ----------------------------------------------------------


def test_compose_runs_migrate_before_every_process_and_a_worker_per_queue_all_with_healthchecks():
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    app = {name: s for name, s in services.items() if s.get("image") == "eigen-regie:local"}
    assert set(app) == ({"migrate", "relay", "beat"} | set(SERVICES) | {f"{s}-worker" for s in SERVICES})
    for name, service in app.items():
        _parses_as_prb(service["command"])
        if name == "migrate":
            continue
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        _parses_as_prb(service["healthcheck"]["test"][1:])
    for service in SERVICES:
        assert app[f"{service}-worker"]["command"][:3] == ["prb", "worker", service]
    for name, service in services.items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name


def _final_stage(parser: DockerfileParser) -> list[dict[str, Any]]:
    starts = [i for i, instruction in enumerate(parser.structure) if instruction["instruction"] == "FROM"]
    return parser.structure[starts[-1] :]


def test_the_image_is_multi_stage_pinned_non_root_hash_checked_and_health_checked():
    parser = DockerfileParser(path=str(DOCKERFILE))
    arguments = {
        i["value"].split("=", 1)[0]: i["value"].split("=", 1)[1]
        for i in parser.structure
        if i["instruction"] == "ARG" and "=" in i["value"]
    }
    bases = [arguments.get(b.strip("${}"), b) for b in parser.parent_images]
    assert len(bases) >= 3  # frontend, build, runtime
    for base in bases:
        tag = base.split("@")[0].rsplit(":", 1)[-1]
        assert tag[0].isdigit() and tag.count(".") >= 2, f"{base}: pin an exact release, e.g. 3.11.14-slim-bookworm"
    installs = [i["value"] for i in parser.structure if i["instruction"] == "RUN" and "requirements/" in i["value"]]
    assert installs and all("--require-hashes" in r and "requirements/runtime.txt" in r for r in installs), installs
    final = _final_stage(parser)
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    runs = " ".join(i["value"] for i in final if i["instruction"] == "RUN")
    assert "pip install" not in runs  # no installer and no build tools in what runs
    # From apt only the PostgreSQL client that `prb db backup|restore` runs, and no package lists left.
    installs_from_apt = re.findall(r"apt-get install ([^&;]+)", runs)
    packages = {word.strip('"').split("=", 1)[0] for line in installs_from_apt for word in line.split()
                if not word.startswith("-")}
    assert packages == {"postgresql-client-15"}, runs
    assert "--no-install-recommends" in runs and "rm -rf /var/lib/apt/lists/*" in runs
    assert any(i["instruction"] == "COPY" and "--from=build" in i["value"] for i in final)
    (healthcheck,) = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    _parses_as_prb(yaml.safe_load(healthcheck.split("CMD", 1)[1]))
    (cmd,) = [i["value"] for i in final if i["instruction"] == "CMD"]
    _parses_as_prb(yaml.safe_load(cmd))


def test_the_apply_script_migrates_and_waits_before_it_rolls_out_and_stops_if_migration_fails(tmp_path):
    """apply.sh against a stand-in kubectl that renders for real and records every other call."""
    log = tmp_path / "calls"
    fake = tmp_path / "kubectl"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = kustomize ]; then exec {shlex.quote(tool("kubectl"))} "$@"; fi\n'
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        'case "$*" in *"get deployments"*) echo deployment.apps/beat;; esac\n'
        'case "$*" in *"wait "*) exit "${FAIL_WAIT:-0}";; esac\n'
    )
    fake.chmod(0o755)
    script = [str(KUSTOMIZE / "apply.sh"), str(KUSTOMIZE / "overlays" / "production")]
    env = {"PATH": os.environ["PATH"], "KUBECTL": str(fake)}
    subprocess.run(script, env=env, check=True, capture_output=True, timeout=120)
    calls = log.read_text().splitlines()
    assert all(c.startswith("--namespace eigen-regie ") for c in calls), calls
    steps = [c.removeprefix("--namespace eigen-regie ").split(" -")[0] for c in calls]
    assert steps[:4] == ["delete job migrate", "apply", "wait", "apply"], calls
    assert "-l app.kubernetes.io/component notin (api,worker,relay,beat)" in calls[1]
    assert "job/migrate" in calls[2] and " -l " not in calls[3]
    assert calls[-1].startswith("--namespace eigen-regie rollout status deployment.apps/beat")

    log.unlink()
    failed = subprocess.run(script, env=env | {"FAIL_WAIT": "1"}, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "nothing else was changed" in failed.stderr
    applied = [c for c in log.read_text().splitlines() if " apply " in f" {c} "]
    assert len(applied) == 1 and "-l app.kubernetes.io/component notin" in applied[0], applied


def test_deploy_files_are_where_the_docs_say():
    operations = (KUSTOMIZE.parents[1] / "docs" / "operations.md").read_text()
    for path in (
        "deploy/kustomize/overlays/production",
        "deploy/kustomize/apply.sh",
        "components/keda",
        "make validate-deploy",
    ):
        assert path in operations, path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_puts_everything_in_one_namespace_held_to_the_restricted_pod_security_standard(rendered, overlay):
    (namespace,) = by_kind(rendered[overlay], "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    others = [obj for obj in rendered[overlay] if obj["kind"] != "Namespace"]
    assert {obj["metadata"]["namespace"] for obj in others} == {namespace["metadata"]["name"]}
