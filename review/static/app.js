// The review page. Every value from the server is written with textContent, never parsed as HTML:
// model output shows as text, whatever markup it holds.
"use strict";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("review-token") || "";
let csrf = "";
let row = null;

function say(text, error) {
  $("message").textContent = text;
  $("message").className = error ? "error" : "";
}

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + token };
  if (method === "POST") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = csrf;
  }
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await resp.json();
  return { status: resp.status, data };
}

function list(id, entries) {
  const ul = $(id);
  ul.replaceChildren();
  for (const text of entries) {
    const li = document.createElement("li");
    li.textContent = text;
    ul.appendChild(li);
  }
  if (!entries.length) {
    const li = document.createElement("li");
    li.textContent = "none";
    ul.appendChild(li);
  }
}

function showCounts(c) {
  $("counter").textContent = "reviewed " + c.reviewed + " / queued " + c.queued;
}

function show(item) {
  row = item;
  // A form about to be hidden may hold the focus, which would swallow the next shortcut.
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  $("reject-form").hidden = true;
  $("edit-form").hidden = true;
  if (!item) {
    $("row").hidden = true;
    $("done").hidden = false;
    return;
  }
  $("done").hidden = true;
  $("row").hidden = false;
  $("row-id").textContent = item.id;
  $("row-version").textContent = String(item.version);
  $("instruction").textContent = item.instruction;
  $("input").textContent = item.input || "(no input)";
  $("output").textContent = item.output;
  const ok = item.kind !== "json" || !item.schema_errors.length;
  $("schema-ok").textContent = item.kind === "json" ? (ok ? "fits the schema" : "breaks the schema") : "";
  $("schema-ok").className = ok ? "good" : "bad";
  list("schema-errors", item.schema_errors);
  if (!item.schema_errors.length) $("schema-errors").replaceChildren();
  $("judge-score").textContent = item.judge.score === null ? "none" : Number(item.judge.score).toFixed(2);
  $("judge-model").textContent = item.judge.model ? "(" + item.judge.model + ")" : "";
  $("judge-rationale").textContent = item.judge.rationale || "(no rationale)";
  // A judge that failed its self-test still scores: say so beside the score and grey both out.
  $("judge").className = item.judge.trusted === false ? "untrusted" : "";
  $("judge-trust").textContent = item.judge.trusted === false ? "untrusted: " + item.judge.note : "";
  list("consensus", Object.entries(item.consensus).map(([k, v]) => k + ": " + Number(v).toFixed(3)));
  list("seeds", item.seeds.map((s) => s.id + ": " + s.instruction + (s.input ? " | " + s.input : "") + " -> " + s.output));
  list("dups", item.near_duplicates.map((d) => d.id + " (" + d.reason + (d.similarity === null ? "" : ", similarity " + d.similarity) + "): " + d.output));
}

async function next() {
  const { status, data } = await api("GET", "/api/next");
  if (status !== 200) return say(data.error, true);
  showCounts(data.counts);
  show(data.item);
}

async function login() {
  token = $("token").value.trim() || token;
  const { status, data } = await api("GET", "/api/session");
  if (status !== 200) {
    sessionStorage.removeItem("review-token");
    return say(data.error, true);
  }
  sessionStorage.setItem("review-token", token);
  csrf = data.csrf;
  $("who").textContent = "reviewer: " + data.reviewer;
  $("login").hidden = true;
  const sel = $("reason");
  sel.replaceChildren();
  for (const r of data.reasons) {
    const opt = document.createElement("option");
    opt.value = r;
    opt.textContent = r;
    sel.appendChild(opt);
  }
  say("");
  await next();
}

async function decide(body) {
  if (!row) return;
  const { status, data } = await api("POST", "/api/items/" + encodeURIComponent(row.id) + "/verdict",
                                     { version: row.version, ...body });
  if (status === 200) {
    say("saved: " + data.item.id + " " + data.item.status);
    return next();
  }
  if (status === 409) {  // saved elsewhere first: say what stands, keep it on screen, move on
    const v = data.current.verdict;
    say(data.error + ". Newer verdict: " + v.status + (v.reviewer ? " by " + v.reviewer : ""), true);
    return next();
  }
  say(data.error, true);
}

async function skip() {
  if (!row) return;
  const { status, data } = await api("POST", "/api/items/" + encodeURIComponent(row.id) + "/skip", {});
  if (status !== 200) return say(data.error, true);
  say("skipped " + row.id);
  await next();
}

function openReject() {
  $("edit-form").hidden = true;
  $("reject-form").hidden = false;
  $("reason").focus();
}

function openEdit() {
  $("reject-form").hidden = true;
  $("edit-form").hidden = false;
  $("edit-text").value = row.output;
  $("edit-text").focus();
}

const saveReject = () => decide({ action: "reject", reason: $("reason").value, note: $("note").value });
const saveEdit = () => decide({ action: "edit", output: $("edit-text").value });

document.addEventListener("DOMContentLoaded", () => {
  $("login-btn").addEventListener("click", login);
  $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") login(); });
  $("approve").addEventListener("click", () => decide({ action: "approve" }));
  $("reject").addEventListener("click", openReject);
  $("edit").addEventListener("click", openEdit);
  $("skip").addEventListener("click", skip);
  $("reject-save").addEventListener("click", saveReject);
  $("edit-save").addEventListener("click", saveEdit);
  $("reject-form").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); saveReject(); } });
  $("edit-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); saveEdit(); } });
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (typing || !row || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = { a: () => decide({ action: "approve" }), r: openReject, e: openEdit, s: skip };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  if (token) login();
});
