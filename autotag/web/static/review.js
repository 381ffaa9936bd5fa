// autotag review: the plan as photos. Plain DOM, no framework; every text goes in through textContent.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const PAGE = 48;
let plan = null;          // the plan the page shows (its fingerprint goes with every decision)
let applyTimer = null;

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function withToken(path) {
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

async function api(path, body) {
  const init = { headers: { "X-Autotag-Token": TOKEN } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: await response.text() }; }
  if (!response.ok) throw new Error((data && data.error) || ("HTTP " + response.status));
  return data;
}

function showError(err) {
  const box = $("#error");
  box.textContent = err ? String(err.message || err) : "";
  box.hidden = !err;
}

async function guarded(fn) {
  showError(null);
  try { await fn(); } catch (err) { showError(err); }
}

function thumb(assetId, alt) {
  return el("img", { src: withToken("/thumb/" + encodeURIComponent(assetId)), alt: alt || "", loading: "lazy",
                     class: "thumb", "data-asset": assetId });
}

function immichLink(url, child) {
  return url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", title: "open in Immich" }, child)
             : child;
}

function pager(page, pages, load) {
  if (pages <= 1) return el("div", { class: "pager" });
  return el("div", { class: "pager" },
    el("button", { type: "button", disabled: page <= 1, onclick: () => load(page - 1), text: "‹ previous" }),
    el("span", { text: `page ${page} of ${pages}` }),
    el("button", { type: "button", disabled: page >= pages, onclick: () => load(page + 1), text: "next ›" }));
}

// ------------------------------------------------------------------------------------------- plan

function summaryText(p) {
  const s = p.by_status || {};
  const kinds = Object.entries(p.by_kind || {}).map(([k, n]) => `${k} ${n}`).join(", ");
  let text = `${p.changes ?? p.total} change(s)` + (kinds ? ` (${kinds})` : "") +
    ` · classified ${s.classified || 0}, unclassified ${s.unclassified || 0}, conflicts ${s.conflict || 0}`;
  if (p.held_back) text += ` · ${p.held_back} held back by your rejections`;
  if (p.approved) text += ` · ${p.approved} approved`;
  return text;
}

function shownGroups() {
  const only = $("#feature-filter").value;
  return plan.features.filter((f) => !only || f.feature === only).flatMap((f) => f.groups);
}

function renderPlan(p) {
  plan = p;
  const summary = $("#summary");
  summary.textContent = summaryText(p);
  summary.dataset.total = p.total;
  summary.dataset.heldBack = p.held_back;
  const apply = $("#apply");
  apply.disabled = p.total === 0;
  apply.textContent = p.total ? `Apply ${p.changes ?? p.total} change(s)` : "Nothing to apply";
  const filter = $("#feature-filter");
  const chosen = filter.value;
  filter.replaceChildren(el("option", { value: "", text: "every feature" }),
    ...p.features.map((f) => el("option", { value: f.feature, text: `${f.feature} (${f.count})` })));
  filter.value = p.features.some((f) => f.feature === chosen) ? chosen : "";
  const root = $("#tab-plan");
  root.replaceChildren();
  for (const w of p.problems || []) root.append(el("p", { class: "problem", text: "warning: " + w }));
  if (!p.total) root.append(el("p", { class: "empty", text: "Nothing to change: the plan is empty." }));
  for (const f of p.features) {
    if (filter.value && f.feature !== filter.value) continue;
    const section = el("section", { class: "feature", "data-feature": f.feature, "data-count": f.count },
      el("h2", { text: `${f.feature} · ${f.count}` }));
    for (const g of f.groups) section.append(renderGroup(g));
    root.append(section);
  }
}

function renderGroup(g) {
  const kinds = Object.entries(g.kinds).map(([k, n]) => `${k} ${n}`).join(", ");
  const grid = el("div", { class: "grid" });
  const pages = el("div");
  const box = el("details", { class: "group", "data-group": g.id, "data-count": g.count, "data-name": g.name },
    el("summary", {},
      el("span", { class: "group-name", text: g.name }),
      el("span", { class: "count", text: `${g.count} · ${kinds}` + (g.approved ? ` · ${g.approved} approved` : "") }),
      el("button", { type: "button", class: "ok approve-group", text: "Approve group",
                     onclick: (e) => { e.preventDefault(); decide("approved", { groups: [g.id] }); } }),
      el("button", { type: "button", class: "no reject-group", text: "Reject group",
                     onclick: (e) => { e.preventDefault(); decide("rejected", { groups: [g.id] }); } })),
    grid, pages);
  const load = (page) => guarded(async () => {
    const data = await api(`/api/group/${encodeURIComponent(g.id)}?page=${page}&size=${PAGE}`);
    grid.replaceChildren(...data.items.map(card));
    pages.replaceChildren(pager(data.page, data.pages, load));
  });
  box.addEventListener("toggle", () => { if (box.open && !grid.childElementCount) load(1); });
  return box;
}

function card(item) {
  const meta = [item.file_name, item.taken].filter(Boolean).join(" · ");
  return el("figure", { class: "card" + (item.decision === "approved" ? " approved" : ""), "data-key": item.key },
    immichLink(item.link, thumb(item.asset_id, item.file_name)),
    el("figcaption", {},
      el("div", { class: "change", text: item.change }),
      meta ? el("div", { class: "meta", text: meta }) : null,
      item.reason ? el("div", { class: "reason", text: item.reason }) : null,
      (item.choices || []).length ? el("div", { class: "choices" }, el("span", { text: "settle: " }),
        ...item.choices.map((c) => el("button", { type: "button", class: "choose", "data-choice": c.key,
          title: "apply this proposal instead of the review marker", text: c.label,
          onclick: () => decide("chosen", { keys: [item.key], choice: c.key }) }))) : null,
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "ok", title: "approve", text: "✓ approve",
                       onclick: () => decide("approved", { keys: [item.key] }) }),
        el("button", { type: "button", class: "no", title: "reject: keep it out of this and later plans",
                       text: "✗ reject", onclick: () => decide("rejected", { keys: [item.key] }) }))));
}

async function loadPlan(reload) {
  await guarded(async () => renderPlan(reload ? await api("/api/reload", {}) : await api("/api/plan")));
}

function decide(decision, selection) {
  return guarded(async () => {
    const data = await api("/api/decide", { decision, fingerprint: plan.fingerprint, ...selection });
    renderPlan(data.plan);
  });
}

// ------------------------------------------------------------------------------------------ apply

function askApply() {
  $("#confirm-text").textContent =
    `Apply ${plan.changes ?? plan.total} change(s) to Immich now? Rejected changes stay out; \`autotag undo\` reverts the run.`;
  $("#confirm").hidden = false;
}

async function startApply() {
  $("#confirm").hidden = true;
  await guarded(async () => {
    showApply(await api("/api/apply", { fingerprint: plan.fingerprint }));
    pollApply();
  });
}

function showApply(st) {
  const box = $("#apply-status");
  box.hidden = st.state === "idle";
  box.dataset.state = st.state;
  const bar = $("#apply-progress");
  if (st.total) { bar.max = st.total; bar.value = st.done; } else { bar.removeAttribute("value"); }
  bar.hidden = st.state !== "running";
  const where = st.stage ? `${st.stage}${st.total ? ` ${st.done}/${st.total}` : ""}` : "";
  $("#apply-text").textContent = st.state === "running" ? `Applying… ${where}` : st.message;
  $("#apply").disabled = st.state === "running" || !plan || plan.total === 0;
}

function pollApply() {
  clearTimeout(applyTimer);
  applyTimer = setTimeout(() => guarded(async () => {
    const st = await api("/api/apply");
    showApply(st);
    if (st.state === "running") pollApply();
    else { await loadPlan(false); showApply(st); }
  }), 400);
}

// ------------------------------------------------------------------------------------ worklists

async function showConflicts(page) {
  const root = $("#tab-conflicts");
  const data = await api(`/api/conflicts?page=${page}&size=${PAGE}`);
  const grid = el("div", { class: "grid" }, ...data.items.map((c) => el("figure", { class: "card", "data-asset": c.asset_id },
    immichLink(c.link, thumb(c.asset_id, c.file_name)),
    el("figcaption", {},
      el("div", { class: "change", text: "rules " + c.rules.join(", ") }),
      el("div", { class: "meta", text: [c.file_name, c.taken].filter(Boolean).join(" · ") }),
      el("ul", { class: "causes" }, ...c.causes.map((x) => el("li", { text: `${x.rule}: ${x.what}` })))))));
  root.replaceChildren(el("h2", { text: `${data.count} photo(s) in conflict` }),
    data.count ? grid : el("p", { class: "empty", text: "No conflicts." }), pager(data.page, data.pages, showConflicts));
}

async function showUnclassified(page) {
  const root = $("#tab-unclassified");
  const data = await api(`/api/unclassified?page=${page}&size=30`);
  const days = data.items.map((d) => el("div", { class: "day", "data-day": d.day, "data-count": d.count },
    el("strong", { text: d.day || "no date" }), el("span", { class: "count", text: ` · ${d.count} photo(s)` }),
    el("div", { class: "strip" }, ...d.assets.map((a) => immichLink(a.link, thumb(a.asset_id, ""))))));
  root.replaceChildren(el("h2", { text: `${data.count} unclassified photo(s) on ${data.days} day(s)` }),
    ...(days.length ? days : [el("p", { class: "empty", text: "Every photo is classified." })]),
    pager(data.page, data.pages, showUnclassified));
}

function heldCard(h, label) {
  return el("figure", { class: "card", "data-key": h.key },
    immichLink(h.link, h.asset_id ? thumb(h.asset_id, h.file_name) : el("div")),
    el("figcaption", {},
      el("div", { class: "change", text: h.change || h.kind }),
      el("div", { class: "meta", text: [h.file_name, h.taken].filter(Boolean).join(" · ") }),
      el("button", { type: "button", class: "ok", text: label, onclick: () => lift({ keys: [h.key] }) })));
}

async function showHeld(page) {
  const root = $("#tab-held");
  const data = await api(`/api/held?page=${page}&size=${PAGE}`);
  const grid = el("div", { class: "grid" }, ...data.items.map((h) => heldCard(h, "lift")));
  const chosen = data.chosen || [];
  root.replaceChildren(
    el("h2", { text: `${data.count} rejected change(s), held out of every plan` }),
    data.count ? el("button", { type: "button", id: "lift-all", text: "Lift all", onclick: () => lift({ all: true }) }) : null,
    data.count ? grid : el("p", { class: "empty", text: "Nothing held back." }), pager(data.page, data.pages, showHeld),
    chosen.length ? el("h2", { id: "chosen", text: `${chosen.length} proposal(s) you chose for photos under review` }) : null,
    chosen.length ? el("div", { class: "grid" }, ...chosen.map((h) => heldCard(h, "undo the choice"))) : null);
}

function lift(selection) {
  return guarded(async () => {
    const data = await api("/api/lift", selection);
    renderPlan(data.plan);
    await showHeld(1);
  });
}

async function showProgress() {
  const data = await api("/api/trend");
  const rows = data.trend.map((t) => el("tr", {}, el("td", { text: String(t.run) }), el("td", { text: t.at }),
    el("td", { text: String(t.unclassified) }), el("td", { text: String(t.conflicts) })));
  $("#tab-progress").replaceChildren(
    el("img", { src: withToken("/progress.svg") + "&t=" + Date.now(), alt: "unclassified and conflicts per run" }),
    el("table", {}, el("tr", {}, ...["run", "at", "unclassified", "conflicts"].map((h) => el("th", { text: h }))), ...rows));
}

const TABS = { conflicts: () => showConflicts(1), unclassified: () => showUnclassified(1), held: () => showHeld(1),
               progress: showProgress };

function switchTab(name) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "tab-" + name;
  if (TABS[name]) guarded(TABS[name]);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => switchTab(b.dataset.tab));
  $("#feature-filter").addEventListener("change", () => renderPlan(plan));
  $("#approve-shown").addEventListener("click", () => decide("approved", { groups: shownGroups().map((g) => g.id) }));
  $("#reject-shown").addEventListener("click", () => decide("rejected", { groups: shownGroups().map((g) => g.id) }));
  $("#reload").addEventListener("click", () => loadPlan(true));
  $("#apply").addEventListener("click", askApply);
  $("#confirm-yes").addEventListener("click", startApply);
  $("#confirm-no").addEventListener("click", () => { $("#confirm").hidden = true; });
  loadPlan(false).then(() => guarded(async () => {
    const st = await api("/api/apply");
    if (st.state !== "idle") { showApply(st); if (st.state === "running") pollApply(); }
  }));
});
