"""optuna-dashboard on a study's storage (``search.py --study NAME --dashboard``, ``make dashboard``).

The dashboard is served on 127.0.0.1 through :class:`DashboardView`, a thin storage view that shows
llmhw trials the way optuna-dashboard 0.21 can display them:

- objective names: Optuna's metric names, set by the search (``study.set_metric_names``);
- user attributes: every metric is already a top-level attribute; the nested ones — ``design``
  (the concrete chip/package/server/system/mapping, ~60 keys), ``violations`` (named constraint
  amounts) and ``dims`` (decoded dimension values) — are flattened to ``design.<key>``,
  ``violation.<name>`` and ``dim.<name>``, because the dashboard shows a nested value as one JSON
  string cut at 1,024 characters and can neither sort nor filter it;
- feasibility: the ``feasible`` attribute, and the constraint values as the list the dashboard reads
  (system attribute ``constraints``; Optuna 5 stores one ``constraints:<name>`` key per constraint,
  which the dashboard does not read yet), so its Pareto-front and history plots grey out infeasible
  trials.

Everything else goes to the real storage unchanged; trials are read with the search's bulk reader
when the storage is an RDB.

Safety (issue 15 item 1): the server binds 127.0.0.1 and answers only requests whose ``Host`` header
names this machine on the served port (``127.0.0.1``, ``localhost`` or ``[::1]``), so a web page
cannot reach it through DNS rebinding; and it is **read-only** unless ``--dashboard-writable`` is
given: every method but GET/HEAD is answered 405 and the view refuses every write to the storage
(optuna-dashboard can delete, rename and create studies, tell trials and edit notes). A study
deleted under a running search stops that search (:meth:`llmhw.study.storage.RDBTrialStore.write`).
"""
from __future__ import annotations

import json
import threading
from typing import Any, Container, Sequence
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from optuna.distributions import CategoricalDistribution
from optuna.storages import BaseStorage, RDBStorage
from optuna.study._frozen import FrozenStudy
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from llmhw.errors import UsageError
from llmhw.study.storage import open_storage
from llmhw.study.urls import redact

HOST = "127.0.0.1"
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
READ_METHODS = ("GET", "HEAD")
WRITABLE_FLAG = "--dashboard-writable"
CONSTRAINTS_PREFIX = "constraints:"
FLATTEN = {"design": "design.", "violations": "violation.", "dims": "dim."}


def readable(dim: str) -> str:
    """A dimension's name as the user wrote it (``p#i`` → ``p``: the index encoding dropped)."""
    return dim.removesuffix("#i")


def _choice(v: Any) -> Any:
    return v if v is None or isinstance(v, (bool, int, float, str)) else json.dumps(v)


def decoded_distributions(trials: Sequence[FrozenTrial]) -> dict[str, CategoricalDistribution]:
    """One categorical distribution per dimension over the decoded values the trials hold (the
    ``dims`` user attr), shared by every trial so the dashboard's search-space plots keep them."""
    values: dict[str, set] = {}
    for t in trials:
        for k, v in (t.user_attrs.get("dims") or {}).items():
            values.setdefault(readable(k), set()).add(_choice(v))
    return {k: CategoricalDistribution(sorted(vs, key=lambda x: (type(x).__name__, x)))
            for k, vs in values.items()}


def dashboard_trial(t: FrozenTrial, dists: dict[str, CategoricalDistribution] | None = None) -> FrozenTrial:
    """``t`` with nested user attrs flattened and constraints as the dashboard's list; with
    ``dists``, its parameters are the decoded dimension values (``batch: 64``, not ``batch_log2: 6``)."""
    ua: dict[str, Any] = {}
    for k, v in t.user_attrs.items():
        prefix = FLATTEN.get(k)
        if prefix is not None and isinstance(v, dict):
            ua.update({prefix + str(kk): vv for kk, vv in v.items()})
        else:
            ua[k] = v
    sa = {k: v for k, v in t.system_attrs.items() if not k.startswith(CONSTRAINTS_PREFIX)}
    cons = [v for k, v in t.system_attrs.items() if k.startswith(CONSTRAINTS_PREFIX)]
    if cons and "constraints" not in sa:
        sa["constraints"] = cons
    params, distributions = t.params, t.distributions
    dims = t.user_attrs.get("dims")
    if dists and isinstance(dims, dict):
        decoded = {readable(k): _choice(v) for k, v in dims.items()}
        if all(k in dists and v in dists[k].choices for k, v in decoded.items()):
            params, distributions = decoded, {k: dists[k] for k in decoded}
    return FrozenTrial(number=t.number, state=t.state, value=None, values=t.values,
                       datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
                       params=params, distributions=distributions, user_attrs=ua, system_attrs=sa,
                       intermediate_values=t.intermediate_values, trial_id=t._trial_id)  # noqa: SLF001


class DashboardView(BaseStorage):
    """A storage as optuna-dashboard should see an llmhw study (see the module docstring)."""

    def __init__(self, inner: BaseStorage, writable: bool = False):
        self._inner = inner
        self._writable = writable
        self._studies: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._dists: dict[str, CategoricalDistribution] = {}     # decoded dimensions, all studies seen
        self._extras: dict[int, tuple[int, dict[str, Any]]] = {}  # study_id -> (trials, virtual attrs)

    # ---- trials, transformed
    def _study(self, study_id: int) -> Any:
        import optuna
        with self._lock:
            study = self._studies.get(study_id)
            if study is None:
                study = optuna.load_study(study_name=self._inner.get_study_name_from_id(study_id),
                                          storage=self._inner)
                self._studies[study_id] = study
        return study

    def _read(self, study_id: int) -> list[FrozenTrial]:
        backend = getattr(self._inner, "_backend", self._inner)
        if isinstance(backend, RDBStorage):
            try:
                from llmhw.study.storage import trial_store
                return trial_store(self._study(study_id)).read()
            except Exception:  # noqa: BLE001 - fall back to Optuna's reader
                pass
        return self._inner.get_all_trials(study_id, deepcopy=False)

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        trials = self._read(study_id)
        self._dists.update(decoded_distributions(trials))
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return [dashboard_trial(t, self._dists) for t in sorted(trials, key=lambda t: t.number)]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return dashboard_trial(self._inner.get_trial(trial_id), self._dists)

    # ---- the study note and the log-axis front: study system attrs made up, never stored
    def _virtual_attrs(self, study_id: int) -> dict[str, Any]:
        n = self._inner.get_n_trials(study_id)
        hit = self._extras.get(study_id)
        if hit is not None and hit[0] == n:
            return hit[1]
        try:
            attrs = study_extras(self._study(study_id))
        except Exception:  # noqa: BLE001 - not an llmhw study, or unreadable: the plain dashboard
            attrs = {}
        self._extras[study_id] = (n, attrs)
        return attrs

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        stored = self._inner.get_study_system_attrs(study_id)
        return {**self._virtual_attrs(study_id), **stored}

    def get_all_studies(self) -> list[FrozenStudy]:
        out = []
        for s in self._inner.get_all_studies():
            extra = self._virtual_attrs(s._study_id)  # noqa: SLF001
            out.append(FrozenStudy(study_name=s.study_name, direction=None, directions=s.directions,
                                   user_attrs=s.user_attrs, system_attrs={**extra, **s.system_attrs},
                                   study_id=s._study_id))  # noqa: SLF001
        return out

    def _check_writable(self) -> None:
        if not self._writable:
            raise PermissionError(f"the dashboard is read-only (restart it with {WRITABLE_FLAG} to write)")

    # ---- everything else, delegated (writes only when writable)
    def create_new_study(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.create_new_study(*a, **k)

    def delete_study(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        self._studies.clear()
        return self._inner.delete_study(*a, **k)

    def set_study_user_attr(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_study_user_attr(*a, **k)

    def set_study_system_attr(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_study_system_attr(*a, **k)

    def get_study_id_from_name(self, *a: Any, **k: Any) -> Any:
        return self._inner.get_study_id_from_name(*a, **k)

    def get_study_name_from_id(self, *a: Any, **k: Any) -> Any:
        return self._inner.get_study_name_from_id(*a, **k)

    def get_study_directions(self, *a: Any, **k: Any) -> Any:
        return self._inner.get_study_directions(*a, **k)

    def get_study_user_attrs(self, *a: Any, **k: Any) -> Any:
        return self._inner.get_study_user_attrs(*a, **k)


    def create_new_trial(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.create_new_trial(*a, **k)

    def set_trial_param(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_trial_param(*a, **k)

    def get_trial_id_from_study_id_trial_number(self, *a: Any, **k: Any) -> Any:
        return self._inner.get_trial_id_from_study_id_trial_number(*a, **k)

    def set_trial_state_values(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_trial_state_values(*a, **k)

    def set_trial_intermediate_value(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_trial_intermediate_value(*a, **k)

    def set_trial_user_attr(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_trial_user_attr(*a, **k)

    def set_trial_system_attr(self, *a: Any, **k: Any) -> Any:
        self._check_writable()
        return self._inner.set_trial_system_attr(*a, **k)

    def get_n_trials(self, *a: Any, **k: Any) -> Any:
        return self._inner.get_n_trials(*a, **k)

    def remove_session(self) -> None:
        self._inner.remove_session()


FRONT_FIGURE_ID = "llmhw-pareto-front"


def study_note(data: Any) -> str:
    """The study summary as the dashboard's Markdown study note."""
    from llmhw.report.summary import best_per_objective, counts
    c = counts(data)
    a = data.attrs
    w = a.get("workload") or {}
    lines = [f"# {data.name}", "",
             f"**{a.get('model', '?')}**, workload {w.get('prefill_len', '?')}:{w.get('decode_len', '?')}, "
             f"fidelity {a.get('fidelity', '?')}, mapping {a.get('mapping', '?')}", "",
             f"- {c.complete:,} COMPLETE trials ({c.failed:,} failed), {c.feasible:,} feasible",
             f"- Pareto front (feasible): {c.front:,} trials, {c.front_designs:,} distinct designs "
             f"(figure *{FRONT_FIGURE_ID}* below: log axes where a value spans ≥ 50×)", "",
             "## Objectives", "", "| objective | unit | direction | best | trial |", "|---|---|---|---|---|"]
    best = dict((o.name, n) for o, n in best_per_objective(data))
    for i, o in enumerate(data.objectives):
        n = best.get(o.name)
        v = data.trial(n).values[i] if n is not None else None
        lines.append(f"| {o.name} | {o.unit or '-'} | {o.direction} | {'-' if v is None else f'{v:.4g}'} | "
                     f"{'-' if n is None else f'#{n}'} |")
    lines += ["", "## Dimensions", "",
              "Parameters are shown decoded, under the names of the config "
              "(`batch` 64, not `batch_log2` 6; `p` 4, not `p#i` 2); `dim.<name>` user attributes carry "
              "the same values. Values tried so far:", ""]
    for name, dist in decoded_distributions(data.trials).items():
        ch = dist.choices
        shown = ", ".join(map(str, ch)) if len(ch) <= 8 else f"{ch[0]} … {ch[-1]} ({len(ch)} values)"
        lines.append(f"- `{name}`: {shown}")
    cons = (a.get("constraints") or {}).get("names") or []
    if cons:
        lines += ["", "## Constraints", "",
                  "The dashboard's unnamed constraint list holds, in this order, sign(v)·log(1+|v|) of each "
                  "violation amount v (≤ 0: satisfied). The `violation.<name>` user attributes give v itself.", ""]
        lines += [f"{i + 1}. `{n}`" for i, n in enumerate(cons)]
    return "\n".join(lines) + "\n"


def study_extras(study: Any) -> dict[str, Any]:
    """The study system attrs through which optuna-dashboard shows the note and the front figure:
    what ``optuna_dashboard.save_note`` and ``save_plotly_graph_object`` would store, computed
    instead of written (the dashboard stays read-only; the note follows the study as it grows)."""
    from optuna_dashboard._custom_plot_data import SYSTEM_ATTR_PLOT_DATA, split_plot_data
    from optuna_dashboard._note import note_ver_key, split_body

    from llmhw.report.data import study_data
    from llmhw.report.plots import pairwise_figure, study_groups
    data = study_data(study, "")
    if not data.is_llmhw or data.complete().empty:
        return {}
    attrs: dict[str, Any] = {note_ver_key(None): 1, **split_body(study_note(data), None)}
    fig = pairwise_figure(study_groups(data), data.objectives, f"Pareto front of {data.name} (llmhw)")
    attrs.update(split_plot_data(fig.to_json(), f"{SYSTEM_ATTR_PLOT_DATA}{FRONT_FIGURE_ID}:"))
    return attrs


def local_host(host: str | None, port: int) -> bool:
    """``host`` (an HTTP Host header) names this machine on ``port``: no DNS-rebinding page."""
    if not host:
        return False
    host = host.strip().lower()
    return any(host == f"{name}:{port}" or (port == 80 and host == name) for name in LOCAL_NAMES)


def _refuse(start_response: Any, status: str, text: str, headers: Sequence[tuple[str, str]] = ()) -> list[bytes]:
    body = json.dumps({"reason": text}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]


def guard(app: Any, port: int, writable: bool = False) -> Any:
    """``app`` answering only local ``Host`` headers on ``port``, and only reads unless ``writable``."""
    def guarded(environ: dict, start_response: Any) -> Any:
        if not local_host(environ.get("HTTP_HOST"), port):
            return _refuse(start_response, "403 Forbidden",
                           f"Host {environ.get('HTTP_HOST')!r} refused: open the dashboard as "
                           f"http://127.0.0.1:{port}/ (or localhost)")
        if not writable and environ.get("REQUEST_METHOD", "GET").upper() not in READ_METHODS:
            return _refuse(start_response, "405 Method Not Allowed",
                           f"the dashboard is read-only; restart it with {WRITABLE_FLAG} to change the study",
                           [("Allow", ", ".join(READ_METHODS))])
        return app(environ, start_response)
    return guarded


def app_for(storage: BaseStorage | str, port: int = 8080, writable: bool = False) -> Any:
    """The optuna-dashboard WSGI application on the llmhw view of ``storage`` (a storage or URL),
    served on ``port`` of this machine; read-only unless ``writable``."""
    import optuna_dashboard
    inner = open_storage(storage) if isinstance(storage, str) else storage
    return guard(optuna_dashboard.wsgi(DashboardView(inner, writable)), port, writable)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - no access log on the terminal
        pass


def make_dashboard_server(url: str, study: str, host: str = HOST, port: int = 8080,
                          writable: bool = False) -> tuple[WSGIServer, str]:
    """A bound (not yet serving) dashboard server and the study's page URL. ``port`` 0: any free port."""
    storage = open_storage(url)
    try:
        study_id = storage.get_study_id_from_name(study)
    except KeyError:
        raise UsageError(f"no study {study!r} in {redact(url)}") from None
    try:
        httpd = make_server(host, port, None, handler_class=_QuietHandler)
    except OSError as exc:
        raise UsageError(f"--dashboard: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         "choose another --port") from None
    httpd.set_app(app_for(storage, httpd.server_port, writable))
    return httpd, f"http://{host}:{httpd.server_port}/dashboard/studies/{study_id}"


def serve(url: str, study: str, host: str = HOST, port: int = 8080, console: Console | None = None,
          writable: bool = False) -> int:
    """Serve optuna-dashboard for ``study`` until Ctrl-C."""
    console = console or Console(highlight=False)
    httpd, page = make_dashboard_server(url, study, host, port, writable)
    mode = ("[bold yellow]writable[/]: it can delete and change studies" if writable
            else f"read-only ({WRITABLE_FLAG} lets it change the study)")
    console.print(f"optuna-dashboard for study {study} ({redact(url)}), {mode}", markup=False)
    console.print(f"  {page}", markup=False)
    console.print("  all studies of this storage: " + page.split("/dashboard/")[0] + "/dashboard", markup=False)
    console.print("Ctrl-C stops it.")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        console.print("dashboard stopped")
    finally:
        httpd.server_close()
    return 0


def dashboard_columns(trials: Sequence[FrozenTrial]) -> list[str]:
    """The user-attribute keys the dashboard shows for ``trials`` (after the view's flattening)."""
    keys: dict[str, None] = {}
    for t in trials:
        keys.update(dict.fromkeys(dashboard_trial(t).user_attrs))
    return list(keys)
