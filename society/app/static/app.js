// The playground page: controls from the scenario schema, runs in the background, charts.
"use strict";

const state = { controls: [], resolved: {}, toml: "", fileName: "", reference: null, job: null, poll: null };
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const COLORS = { safe: "#1a7f37", undecided: "#6e6e6e", left_basin: "#b35c00",
  "catastrophe: loss_of_control": "#9b1c1c", "catastrophe: misuse": "#7a1f5c", "catastrophe: rival_ahead": "#3d3d9e" };

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, opts);
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
  if (message) box.scrollIntoView({ block: "nearest" }); // seen even from far down the controls
}

function fieldId(key) { return "f-" + key.replace(/\./g, "-"); }

function buildControls() {
  const groups = { question: "The question", lever: "Strategy levers", uncertain: "Main uncertain assumptions" };
  const host = $("fields");
  for (const [kind, title] of Object.entries(groups)) {
    const fs = document.createElement("fieldset");
    const lg = document.createElement("legend");
    lg.textContent = title;
    fs.appendChild(lg);
    for (const c of state.controls.filter((x) => x.kind === kind)) fs.appendChild(control(c));
    host.appendChild(fs);
  }
}

function control(c) {
  const id = fieldId(c.key);
  const div = document.createElement("div");
  div.className = "field";
  div.id = id + "-box";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = c.key + (c.unit && c.unit !== "-" ? " (" + c.unit + ")" : "");
  const help = document.createElement("p");
  help.className = "help";
  help.id = id + "-help";
  help.textContent = c.help + " Allowed: " + c.range + ".";
  const inputs = document.createElement("div");
  inputs.className = "inputs";
  const num = document.createElement("input");
  num.type = "number";
  num.id = id;
  num.name = c.key;
  num.step = "any";
  if (c.min !== null) num.min = c.min;
  if (c.max !== null) num.max = c.max;
  num.setAttribute("aria-describedby", help.id);
  if (c.min !== null && c.max !== null) {
    const range = document.createElement("input");
    range.type = "range";
    range.id = id + "-slider";
    range.min = c.min;
    range.max = c.max;
    range.step = c.type === "int" ? "1" : "any";
    range.setAttribute("aria-label", c.key + " slider");
    range.setAttribute("aria-describedby", help.id);
    range.addEventListener("input", () => { num.value = range.value; changed(); });
    num.addEventListener("input", () => { range.value = num.value; changed(); });
    inputs.appendChild(range);
  } else {
    num.addEventListener("input", changed);
  }
  inputs.appendChild(num);
  div.append(label, inputs, help);
  return div;
}

function setValue(key, value) {
  const num = $(fieldId(key));
  const text = value === null || value === undefined ? "" : String(value);
  num.value = text;
  num.placeholder = value === null ? "inf" : "";
  const range = $(fieldId(key) + "-slider");
  if (range && text !== "") range.value = text;
}

function settingsQuery() {
  const q = { scenario: $("scenario").value, seeds: $("seeds").value, size: $("size").value };
  if ($("priors").checked) q.priors = "1";
  for (const c of state.controls) {
    const box = $(fieldId(c.key) + "-box");
    const text = $(fieldId(c.key)).value;
    const base = state.resolved[c.key];
    const differs = text !== "" && (base === null || base === undefined || Number(text) !== Number(base));
    box.classList.toggle("changed", differs);
    if (differs) q[c.key] = text;
  }
  return q;
}

function currentSettings() {
  return { query: settingsQuery(), toml: $("scenario").value === "uploaded" ? state.toml : "" };
}

function changed() {
  const q = settingsQuery();
  const link = "/?" + new URLSearchParams(q).toString();
  $("permalink").href = link;
  history.replaceState(null, "", link);
}

async function loadScenario(overrides) {
  showError("");
  try {
    const info = await api("/api/scenario", { query: { scenario: $("scenario").value }, toml: state.toml });
    state.resolved = info.values;
    $("question").textContent = (info.question || "") + (info.claim ? " Claim: " + info.claim + "." : "");
    for (const c of state.controls) setValue(c.key, info.values[c.key]);
    for (const [k, v] of Object.entries(overrides || {})) if ($(fieldId(k))) setValue(k, v);
    changed();
  } catch (e) { showError(e.message); }
}

async function run(event) {
  if (event) event.preventDefault();
  showError("");
  clearInterval(state.poll);
  try {
    const body = currentSettings();
    body.reference = state.reference;
    const job = await api("/api/run", body);
    state.job = job.job;
    $("progress").max = job.total;
    $("progress").value = 0;
    $("progress-text").textContent = "0 of " + job.total;
    document.body.dataset.job = job.job;
    state.poll = setInterval(poll, 250);
    poll();
  } catch (e) { showError(e.message); }
}

async function poll() {
  const id = state.job;
  let data;
  try { data = await api("/api/job/" + id); } catch (e) { showError(e.message); clearInterval(state.poll); return; }
  if (id !== state.job) return;
  $("progress").value = data.done;
  $("progress-text").textContent = data.done + " of " + data.total;
  $("answer").textContent = data.answer.text;
  if (data.failed.length) showError("Some runs failed: " + data.failed.join("; "));
  drawOutcomes(data.distribution, data.done);
  drawFan(data.runs);
  drawLead(data.runs);
  drawLadder(data.runs);
  drawDifference(data.difference, data.reference_done, data.total);
  const finished = data.done + data.failed.length >= data.total && (!state.reference || data.reference_done >= data.total);
  document.body.dataset.done = String(data.done);
  if (finished) { clearInterval(state.poll); document.body.dataset.finished = id; }
}

function svg(width, height, label) {
  const s = document.createElementNS(SVGNS, "svg");
  s.setAttribute("viewBox", `0 0 ${width} ${height}`);
  s.setAttribute("role", "img");
  s.setAttribute("aria-label", label);
  return s;
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawOutcomes(dist, n) {
  const host = $("outcome-chart");
  const counts = {};
  for (const d of dist) counts[d.category] = d.count;
  host.dataset.counts = JSON.stringify(counts);
  host.dataset.n = String(n);
  const W = 600, row = 30, H = dist.length * row + 30, x0 = 190, w = W - x0 - 60;
  const s = svg(W, H, "Outcome shares of " + n + " runs: " + dist.map((d) => d.category + " " + d.count).join(", "));
  dist.forEach((d, i) => {
    const y = 10 + i * row;
    s.appendChild(el("text", { x: x0 - 8, y: y + 17, "text-anchor": "end", "font-size": 13, fill: "#1b1b1b" }, d.category));
    s.appendChild(el("rect", { x: x0, y: y + 4, width: Math.max(0, (d.share || 0) * w), height: 18, fill: COLORS[d.category] || "#555" }));
    if (d.low !== null) {
      s.appendChild(el("line", { x1: x0 + d.low * w, x2: x0 + d.high * w, y1: y + 13, y2: y + 13, stroke: "#000", "stroke-width": 1.5 }));
    }
    s.appendChild(el("text", { x: x0 + w + 6, y: y + 17, "font-size": 13, fill: "#1b1b1b" }, String(d.count)));
  });
  s.appendChild(el("text", { x: x0, y: H - 4, "font-size": 12, fill: "#4a4a4a" }, "share of runs (bars), 95% interval (lines)"));
  host.replaceChildren(s);
  const body = $("outcome-table").tBodies[0];
  body.replaceChildren(...dist.map((d) => {
    const tr = document.createElement("tr");
    const share = d.share === null ? "-" : `${d.share.toFixed(2)} [${d.low.toFixed(2)}, ${d.high.toFixed(2)}]`;
    for (const t of [d.category, String(d.count), share]) { const td = document.createElement("td"); td.textContent = t; tr.appendChild(td); }
    tr.dataset.category = d.category;
    return tr;
  }));
}

function lines(hostId, runs, series, label, yLabel) {
  const W = 600, H = 240, L = 52, R = 10, T = 10, B = 34;
  const s = svg(W, H, label);
  let xs = [], ys = [];
  for (const r of runs) for (const [key] of series) {
    xs = xs.concat(r.curves.day);
    ys = ys.concat(r.curves[key].filter((v) => v !== null));
  }
  if (!ys.length) { $(hostId).replaceChildren(s); return; }
  const xmax = Math.max(...xs, 1), ymin = Math.min(...ys), ymax = Math.max(...ys);
  const pad = (ymax - ymin) * 0.05 || 0.05;
  const X = (x) => L + (x / xmax) * (W - L - R);
  const Y = (y) => T + (1 - (y - (ymin - pad)) / (ymax - ymin + 2 * pad)) * (H - T - B);
  s.appendChild(el("line", { x1: L, x2: L, y1: T, y2: H - B, stroke: "#4a4a4a" }));
  s.appendChild(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#4a4a4a" }));
  for (const v of [ymin, (ymin + ymax) / 2, ymax]) {
    s.appendChild(el("text", { x: L - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#1b1b1b" }, v.toFixed(2)));
  }
  s.appendChild(el("text", { x: W - R, y: H - 6, "text-anchor": "end", "font-size": 11, fill: "#1b1b1b" }, "day " + xmax));
  s.appendChild(el("text", { x: L, y: H - 6, "font-size": 11, fill: "#1b1b1b" }, yLabel));
  if (ymin < 0 && ymax > 0) s.appendChild(el("line", { x1: L, x2: W - R, y1: Y(0), y2: Y(0), stroke: "#999", "stroke-dasharray": "3 3" }));
  for (const r of runs) for (const [key, color, dash] of series) {
    let d = "";
    r.curves[key].forEach((v, i) => { if (v !== null) d += (d && r.curves[key][i - 1] !== null ? "L" : "M") + X(r.curves.day[i]).toFixed(1) + " " + Y(v).toFixed(1); });
    if (d) s.appendChild(el("path", { d, fill: "none", stroke: color, "stroke-width": 1.3, "stroke-opacity": 0.75, "stroke-dasharray": dash || "" }));
  }
  $(hostId).replaceChildren(s);
}

function drawFan(runs) {
  lines("fan-chart", runs, [["alignment_mean", "#0b57a4"], ["a_star", "#b35c00", "5 3"]],
    "Mean alignment of each run (solid) and the basin's edge a*_eff (dashed) over days", "alignment (solid), a*eff (dashed)");
}

function drawLead(runs) {
  lines("lead-chart", runs, [["lead_days", "#1a7f37"]], "Lead over the rival in days, each run", "lead (days)");
}

function drawLadder(runs) {
  const W = 600, H = 220, L = 52, T = 10, B = 34;
  const rows = runs.flatMap((r) => r.ladder.map((g) => ({ ...g, run: r.replicate })));
  const s = svg(W, H, "Generation ladder: mean alignment of each generation in each run, with a*_eff");
  if (!rows.length) { $("ladder-chart").replaceChildren(s); return; }
  const gmax = Math.max(...rows.map((g) => g.generation), 1);
  const vals = rows.flatMap((g) => [g.mean_alignment, g.a_star]).filter((v) => v !== null);
  const ymin = Math.min(...vals) - 0.02, ymax = Math.max(...vals) + 0.02;
  const X = (g) => L + (g / gmax) * (W - L - 20);
  const Y = (y) => T + (1 - (y - ymin) / (ymax - ymin)) * (H - T - B);
  s.appendChild(el("line", { x1: L, x2: L, y1: T, y2: H - B, stroke: "#4a4a4a" }));
  for (const v of [ymin, ymax]) s.appendChild(el("text", { x: L - 4, y: Y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#1b1b1b" }, v.toFixed(2)));
  s.appendChild(el("text", { x: L, y: H - 6, "font-size": 11, fill: "#1b1b1b" }, "generation 0 to " + gmax + ": alignment (dots), a*eff (bars)"));
  for (const g of rows) {
    s.appendChild(el("circle", { cx: X(g.generation), cy: Y(g.mean_alignment), r: 3, fill: "#0b57a4", "fill-opacity": 0.7 }));
    if (g.a_star !== null) s.appendChild(el("line", { x1: X(g.generation) - 6, x2: X(g.generation) + 6, y1: Y(g.a_star), y2: Y(g.a_star), stroke: "#b35c00", "stroke-width": 2 }));
  }
  $("ladder-chart").replaceChildren(s);
}

function drawDifference(diff, refDone, total) {
  const body = $("difference").tBodies[0];
  if (!state.reference) { body.innerHTML = "<tr><td colspan=\"3\">No reference pinned.</td></tr>"; return; }
  if (!diff.length) { body.innerHTML = `<tr><td colspan="3">Waiting for paired runs (${refDone} of ${total} reference runs done).</td></tr>`; return; }
  const f = (v) => (v === null ? "-" : (v >= 0 ? "+" : "") + v.toFixed(3));
  body.replaceChildren(...diff.map((d) => {
    const tr = document.createElement("tr");
    for (const t of [d.measure, `${f(d.mean)} [${f(d.low)}, ${f(d.high)}]`, String(d.pairs)]) { const td = document.createElement("td"); td.textContent = t; tr.appendChild(td); }
    return tr;
  }));
}

function pin() {
  state.reference = currentSettings();
  const q = state.reference.query;
  const changes = Object.entries(q).filter(([k]) => !["scenario", "seeds", "size", "priors"].includes(k)).map(([k, v]) => k + "=" + v);
  $("reference").textContent = `Reference pinned: ${q.scenario}${changes.length ? " with " + changes.join(", ") : " as shipped"}. Runs now also run it on the same seeds.`;
}

async function exportView() {
  showError("");
  try {
    const out = await api("/api/export", currentSettings());
    $("command").textContent = "# save the scenario file below, then run:\n" + out.command;
    const link = $("download");
    link.href = URL.createObjectURL(new Blob([out.toml], { type: "text/plain" }));
    link.download = out.file;
    link.textContent = "Download " + out.file;
    link.hidden = false;
  } catch (e) { showError(e.message); }
}

async function openFile() {
  const file = $("file").files[0];
  if (!file) return;
  state.toml = await file.text();
  state.fileName = file.name;
  let opt = [...$("scenario").options].find((o) => o.value === "uploaded");
  if (!opt) { opt = new Option("", "uploaded"); $("scenario").add(opt); }
  opt.textContent = "opened file: " + file.name;
  $("scenario").value = "uploaded";
  await loadScenario();
}

async function init() {
  const meta = await api("/api/meta");
  state.controls = meta.controls;
  for (const s of meta.scenarios) $("scenario").add(new Option(s.name, s.name));
  buildControls();
  const q = Object.fromEntries(new URLSearchParams(location.search));
  if (q.scenario && [...$("scenario").options].some((o) => o.value === q.scenario)) $("scenario").value = q.scenario;
  else $("scenario").value = meta.scenarios.some((s) => s.name === "baseline") ? "baseline" : meta.scenarios[0].name;
  if (q.seeds) $("seeds").value = q.seeds;
  if (q.size) $("size").value = q.size;
  $("priors").checked = q.priors === "1";
  const overrides = {};
  for (const c of state.controls) if (q[c.key] !== undefined) overrides[c.key] = q[c.key];
  await loadScenario(overrides);
  $("settings").addEventListener("submit", run);
  $("scenario").addEventListener("change", () => loadScenario());
  $("file").addEventListener("change", openFile);
  for (const id of ["seeds", "size", "priors"]) $(id).addEventListener("input", changed);
  $("pin").addEventListener("click", pin);
  $("export").addEventListener("click", exportView);
  $("reset").addEventListener("click", () => loadScenario());
  document.body.dataset.ready = "1";
}

init().catch((e) => showError(e.message));
