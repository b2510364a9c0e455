/*
 * The gateway's dashboard: every provider's fine-tuning jobs, their
 * progress and loss curves, and the uploaded files, through the public
 * API only (/v1/fine_tuning/jobs, its events and checkpoints, /v1/files)
 * with the key the user types.  The key lives in sessionStorage (this tab
 * only), never in a URL or a cookie.  No build step, no dependency.
 */
"use strict";

const API = "/v1";
const KEY = "ftgw.key";
const ACTIVE = new Set(["validating_files", "queued", "running"]);
const JOBS_EVERY_MS = 3000;
const JOB_EVERY_MS = 2000;

const $ = (sel) => document.querySelector(sel);
let timer = null;
let view = "";

/* ---- the API ---------------------------------------------------------- */

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function key() {
  return sessionStorage.getItem(KEY) || "";
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + key() },
                                options.headers || {});
  let resp;
  try {
    resp = await fetch(API + path, Object.assign({}, options, { headers }));
  } catch (e) {
    throw new ApiError(0, "The gateway could not be reached: " + e.message);
  }
  return answer(resp.status, await resp.text());
}

/* the API's own words for a failure: its error.message, as it wrote it */
function answer(status, text) {
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (e) {
    body = null;
  }
  if (status >= 200 && status < 300) {
    return body;
  }
  const err = body && body.error;
  throw new ApiError(status, err && err.message ? err.message
                     : "HTTP " + status + " from the gateway",
                     err && err.code);
}

function showError(e) {
  const box = $("#error");
  if (!e) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = (e.status ? "Error " + e.status + ": " : "") + e.message;
}

/* ---- small helpers ------------------------------------------------------ */

function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v;
    else if (k === "text") n.textContent = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) {
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  return n;
}

function when(unix) {
  if (!unix) return "";
  return new Date(unix * 1000).toLocaleString(undefined,
    { dateStyle: "short", timeStyle: "medium" });
}

/* ids run to 90 characters: the table shows their ends, the link all */
function shortId(id) {
  return id.length > 26 ? id.slice(0, 16) + "\u2026" + id.slice(-8) : id;
}

function span(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return "";
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function duration(job) {
  if (!job.created_at) return "";
  const end = job.finished_at || (ACTIVE.has(job.status) ? Date.now() / 1000
                                                         : null);
  return end ? span(end - job.created_at) : "";
}

function eta(job) {
  if (!ACTIVE.has(job.status) || !job.estimated_finish) return "";
  const left = job.estimated_finish - Date.now() / 1000;
  return left > 0 ? "in " + span(left) : "any moment";
}

function progress(job) {
  const p = (job.vendor && job.vendor.progress) || {};
  let pct = null;
  if (typeof p.percent === "number") pct = p.percent;
  else if (p.step && p.total_steps) pct = 100 * p.step / p.total_steps;
  else if (job.status === "succeeded") pct = 100;
  if (pct === null) return null;
  const label = p.step && p.total_steps ? `step ${p.step} of ${p.total_steps}`
                                        : Math.round(pct) + "%";
  return { pct: Math.max(0, Math.min(100, pct)), label };
}

function progressBar(job) {
  const p = progress(job);
  if (!p) return el("span", { class: "hint", text: "" });
  return el("span", { class: "bar" },
            el("progress", { max: "100", value: p.pct.toFixed(1),
                             "aria-label": "Progress: " + p.label }),
            el("span", { text: p.label }));
}

function chip(status) {
  return el("span", { class: "chip " + status, text: status.replace("_", " ") });
}

function schedule(fn, ms) {
  clearTimeout(timer);
  timer = setTimeout(fn, ms);
}

/* ---- the jobs view ------------------------------------------------------ */

async function showJobs() {
  const meta = $("#f-meta").value.trim();
  let q = "?limit=100";
  if (meta.includes("=")) {
    const [k, ...v] = meta.split("=");
    q += "&metadata[" + encodeURIComponent(k.trim()) + "]="
         + encodeURIComponent(v.join("=").trim());
  }
  const list = await api("/fine_tuning/jobs" + q);
  const provider = $("#f-provider").value;
  const status = $("#f-status").value;
  const jobs = list.data.filter((j) =>
    (!provider || (j.vendor && j.vendor.provider) === provider)
    && (!status || j.status === status));

  const providers = new Set(list.data.map((j) => j.vendor && j.vendor.provider)
                                     .filter(Boolean));
  for (const p of list.unlisted_providers || []) providers.add(p);
  const sel = $("#f-provider");
  for (const p of [...providers].sort()) {
    if (![...sel.options].some((o) => o.value === p)) sel.add(new Option(p, p));
  }

  const unlisted = list.unlisted_providers || [];
  const note = $("#unlisted");
  note.hidden = unlisted.length === 0;
  note.textContent = unlisted.length === 0 ? "" : "Not in this list: "
    + unlisted.join(", ") + ". Their vendor keeps no list of jobs; each "
    + "job there opens by its id.";

  const body = $("#jobs tbody");
  body.replaceChildren(...jobs.map((j) => el("tr", { "data-job": j.id },
    el("td", {}, el("a", { href: "#/jobs/" + encodeURIComponent(j.id),
                           class: "mono", title: j.id,
                           "aria-label": "Job " + j.id, text: shortId(j.id) })),
    el("td", {}, chip(j.status)),
    el("td", { text: (j.vendor && j.vendor.provider) || "" }),
    el("td", { text: j.model || "" }),
    el("td", { text: when(j.created_at) }),
    el("td", { text: duration(j) }),
    el("td", {}, progressBar(j)),
    el("td", { text: eta(j) }))));
  $("#jobs-empty").hidden = jobs.length > 0;

  const running = list.data.some((j) => ACTIVE.has(j.status));
  $("#refreshing").textContent = running
    ? "Refreshing every " + JOBS_EVERY_MS / 1000 + " s while jobs run" : "";
  if (running) schedule(() => refresh(showJobs), JOBS_EVERY_MS);
}

/* ---- the job view ------------------------------------------------------- */

function lossPoints(id) {
  try {
    return JSON.parse(sessionStorage.getItem("ftgw.loss." + id)) || [];
  } catch (e) {
    return [];
  }
}

/* the vendors report the current loss: the curve is every one seen */
function addLoss(id, points) {
  const all = lossPoints(id);
  for (const p of points) {
    if (typeof p.step !== "number" || typeof p.train_loss !== "number") continue;
    const known = Object.fromEntries(Object.entries(p)
      .filter(([, v]) => typeof v === "number"));
    const at = all.findIndex((q) => q.step === p.step);
    if (at >= 0) Object.assign(all[at], known);
    else all.push(known);
  }
  all.sort((a, b) => a.step - b.step);
  sessionStorage.setItem("ftgw.loss." + id, JSON.stringify(all));
  return all;
}

function drawLoss(points) {
  const svg = $("#loss-svg");
  const W = 640, H = 240, L = 48, R = 12, T = 12, B = 28;
  const ns = "http://www.w3.org/2000/svg";
  const make = (tag, attrs) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  svg.replaceChildren();
  svg.setAttribute("data-points", String(points.length));
  const cap = $("#loss-caption");
  if (points.length === 0) {
    cap.textContent = "No loss reported yet.";
    return;
  }
  const losses = points.flatMap((p) => [p.train_loss, p.valid_loss])
                       .filter((v) => typeof v === "number");
  let lo = Math.min(...losses), hi = Math.max(...losses);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const s0 = points[0].step, s1 = Math.max(points[points.length - 1].step, s0 + 1);
  const x = (s) => L + (W - L - R) * (s - s0) / (s1 - s0);
  const y = (v) => T + (H - T - B) * (hi - v) / (hi - lo);

  svg.append(make("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }),
             make("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  for (const [v, yy] of [[hi, y(hi)], [lo, y(lo)]]) {
    const t = make("text", { x: 4, y: yy + 4 });
    t.textContent = v.toFixed(3);
    svg.append(t);
  }
  for (const [s, anchor] of [[s0, "start"], [s1, "end"]]) {
    const t = make("text", { x: x(s), y: H - 8, "text-anchor": anchor });
    t.textContent = "step " + s;
    svg.append(t);
  }
  for (const [key, cls] of [["train_loss", "train"], ["valid_loss", "valid"]]) {
    const pts = points.filter((p) => typeof p[key] === "number");
    if (pts.length === 0) continue;
    svg.append(make("polyline", {
      class: cls, points: pts.map((p) => x(p.step) + "," + y(p[key])).join(" ") }));
    for (const p of pts) {
      svg.append(make("circle", { class: "dot", cx: x(p.step), cy: y(p[key]), r: 2.5 }));
    }
  }
  const last = points[points.length - 1];
  const hasValid = points.some((p) => typeof p.valid_loss === "number");
  cap.textContent = `Training loss over ${points.length} points, `
    + `${points[0].train_loss.toFixed(4)} at step ${s0} to `
    + `${last.train_loss.toFixed(4)} at step ${last.step}.`
    + (hasValid ? " Dashed: validation loss."
                : " The vendor reports no validation loss.");
}

async function showJob(id) {
  const path = "/fine_tuning/jobs/" + encodeURIComponent(id);
  const [job, events, ckpts] = await Promise.all([
    api(path), api(path + "/events?limit=100"),
    api(path + "/checkpoints?limit=100")]);

  $("#job-title").textContent = job.id;
  $("#job-status").replaceWith(Object.assign(chip(job.status), { id: "job-status" }));
  const v = job.vendor || {};
  const facts = [["Provider", v.provider], ["Model", job.model],
                 ["Vendor job", v.job_id], ["Vendor status", v.status],
                 ["Created", when(job.created_at)], ["Duration", duration(job)],
                 ["ETA", eta(job)],
                 ["Throughput", typeof (v.progress || {}).tokens_per_second
                   === "number" ? Math.round(v.progress.tokens_per_second)
                   + " tokens/s" : null],
                 ["MFU", typeof (v.progress || {}).mfu === "number"
                   ? (100 * v.progress.mfu).toFixed(1) + "%" : null],
                 ["Fine-tuned model", job.fine_tuned_model],
                 ["Training file", job.training_file]];
  $("#job-facts").replaceChildren(...facts.filter(([, val]) => val)
    .flatMap(([k, val]) => [el("dt", { text: k }), el("dd", { text: val })]));
  $("#job-progress").replaceChildren(progressBar(job));

  const errBox = $("#job-error");
  errBox.hidden = !job.error;
  if (job.error) {
    errBox.replaceChildren(
      el("strong", { text: "Failed: " }), job.error.message || "",
      el("div", { class: "hint" },
         "Code ", el("code", { text: job.error.code || "none" }),
         v.error_code ? " \u00b7 the vendor's own code " : "",
         v.error_code ? el("code", { text: v.error_code }) : null));
  }
  $("#cancel").hidden = !ACTIVE.has(job.status);
  $("#cancel").dataset.job = job.id;

  const p = v.progress || {};
  const fromEvents = (events.data || []).filter((e) => e.type === "metrics" && e.data)
    .map((e) => ({ step: e.data.step, train_loss: e.data.train_loss,
                   valid_loss: e.data.valid_loss }));
  drawLoss(addLoss(job.id, [...fromEvents,
    { step: p.step, train_loss: p.train_loss,
      valid_loss: v.validation_loss }]));

  const evs = [...(events.data || [])].reverse();
  $("#timeline").replaceChildren(...evs.map((e) => el("li",
    { class: e.level === "error" ? "error" : "" },
    el("time", { datetime: new Date(e.created_at * 1000).toISOString(),
                 text: when(e.created_at) }),
    e.message)));

  $("#checkpoints tbody").replaceChildren(...(ckpts.data || []).map((c) =>
    el("tr", {}, el("td", { class: "num", text: c.step_number }),
       el("td", { class: "mono", text: c.fine_tuned_model_checkpoint }))));
  $("#checkpoints-empty").hidden = (ckpts.data || []).length > 0;
  $("#vendor").textContent = JSON.stringify(v, null, 2);

  if (ACTIVE.has(job.status)) schedule(() => refresh(() => showJob(id)), JOB_EVERY_MS);
}

async function cancelJob() {
  const id = $("#cancel").dataset.job;
  if (!window.confirm("Cancel job " + id + "? Training stops and cannot be resumed.")) {
    return;
  }
  $("#cancel").disabled = true;
  try {
    await api("/fine_tuning/jobs/" + encodeURIComponent(id) + "/cancel",
              { method: "POST" });
    await refresh(() => showJob(id));
  } catch (e) {
    showError(e);
  } finally {
    $("#cancel").disabled = false;
  }
}

/* ---- the files view ----------------------------------------------------- */

async function showFiles() {
  const list = await api("/files?limit=100");
  const files = list.data || [];
  $("#files tbody").replaceChildren(...files.map((f) => el("tr", { "data-file": f.id },
    el("td", { class: "mono", text: f.id }),
    el("td", { text: f.filename }),
    el("td", { class: "num", text: f.bytes }),
    el("td", {}, chip(f.status)),
    el("td", { class: "details", text: f.status_details || "" }),
    el("td", { text: when(f.created_at) }),
    el("td", {}, el("button", { type: "button", class: "quiet",
                                "aria-label": "Delete " + f.filename,
                                onclick: () => deleteFile(f) }, "Delete")))));
  $("#files-empty").hidden = files.length > 0;
}

function upload(ev) {
  ev.preventDefault();
  const file = $("#upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("purpose", "fine-tune");
  form.append("file", file, file.name);
  const bar = $("#upload-progress");
  const status = $("#upload-status");
  bar.hidden = false;
  bar.value = 0;
  status.textContent = "Uploading " + file.name + "\u2026";
  const xhr = new XMLHttpRequest();
  xhr.open("POST", API + "/files");
  xhr.setRequestHeader("Authorization", "Bearer " + key());
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) bar.value = 100 * e.loaded / e.total;
  };
  xhr.onload = () => {
    bar.value = 100;
    try {
      const f = answer(xhr.status, xhr.responseText);
      showError(null);
      status.textContent = f.status === "error"
        ? `${f.filename}: not usable for fine-tuning: ${f.status_details}`
        : `${f.filename}: ${f.status}`;
    } catch (e) {
      status.textContent = "";
      showError(e);
    }
    refresh(showFiles);
  };
  xhr.onerror = () => showError(new ApiError(0, "The upload could not reach the gateway"));
  xhr.send(form);
}

async function deleteFile(f) {
  if (!window.confirm("Delete " + f.filename + " (" + f.id + ")?")) return;
  try {
    await api("/files/" + encodeURIComponent(f.id), { method: "DELETE" });
  } catch (e) {
    showError(e);
  }
  refresh(showFiles);
}

/* ---- routing ------------------------------------------------------------ */

async function refresh(fn) {
  try {
    await fn();
    showError(null);
  } catch (e) {
    showError(e);
  }
}

function route() {
  clearTimeout(timer);
  const hash = location.hash || "#/jobs";
  const m = hash.match(/^#\/jobs\/(.+)$/);
  view = m ? "job" : hash === "#/files" ? "files" : "jobs";
  const haveKey = key() !== "";
  $("#need-key").hidden = haveKey;
  for (const name of ["jobs", "job", "files"]) {
    $("#view-" + name).hidden = !haveKey || name !== view;
  }
  $("#nav-jobs").removeAttribute("aria-current");
  $("#nav-files").removeAttribute("aria-current");
  $(view === "files" ? "#nav-files" : "#nav-jobs")
    .setAttribute("aria-current", "page");
  if (!haveKey) return;
  if (view === "job") refresh(() => showJob(decodeURIComponent(m[1])));
  else if (view === "files") refresh(showFiles);
  else refresh(showJobs);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#key").value = key();
  $("#key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("#key").value.trim());
    route();
  });
  $("#forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    $("#key").value = "";
    showError(null);
    route();
  });
  $("#filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    refresh(showJobs);
  });
  $("#f-provider").addEventListener("change", () => refresh(showJobs));
  $("#f-status").addEventListener("change", () => refresh(showJobs));
  $("#cancel").addEventListener("click", cancelJob);
  $("#upload").addEventListener("submit", upload);
  window.addEventListener("hashchange", route);
  route();
});
