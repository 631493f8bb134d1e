// The moderator workspace: a plain ES2020 module, no framework, no build step.
//
// Security rules of this file: every piece of data reaches the page through textContent / createTextNode or
// setAttribute on a fixed attribute name; nothing is ever parsed as markup (no HTML-string APIs at all) and no link
// is built from data. The key lives in sessionStorage and travels only in the Authorization header.

const KEY_STORAGE = "moderation.workspace.key";
const PAGE_SIZE = 50;
const MAX_PAGE = 200;

const REASONS = [
  ["OFFENSIVE", "Offensive"],
  ["ABUSIVE", "Abusive"],
  ["SPAM", "Spam"],
  ["BANNED_WORD", "Banned word"],
  ["AD", "Advertising"],
  ["ILLEGAL_CONTENT", "Illegal content"],
  ["HARASSMENT_BULLYING", "Harassment or bullying"],
  ["MISINFORMATION", "Misinformation"],
  ["HATE_SPEECH", "Hate speech"],
  ["IRRELEVANT_CONTENT", "Irrelevant / off-topic"],
  ["OTHER", "Other"],
];
const REASON_LABELS = new Map(REASONS);

// The reason a flag suggests, strongest first: the picker opens on it.
const SUGGESTED_REASON = [
  ["wordlist", "BANNED_WORD"],
  ["identity_attack", "HATE_SPEECH"],
  ["threat", "HARASSMENT_BULLYING"],
  ["severe_toxicity", "ABUSIVE"],
  ["insult", "ABUSIVE"],
  ["conspiracy", "MISINFORMATION"],
  ["sexual_explicit", "OFFENSIVE"],
  ["obscene", "OFFENSIVE"],
  ["toxicity", "OFFENSIVE"],
];

const DEFAULT_CATEGORIES = [
  "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit", "conspiracy",
  "wordlist",
];

const CATEGORY_LABELS = {
  toxicity: "Toxicity",
  severe_toxicity: "Severe toxicity",
  obscene: "Obscene",
  threat: "Threat",
  insult: "Insult",
  identity_attack: "Identity attack",
  sexual_explicit: "Sexual",
  conspiracy: "Conspiracy",
  wordlist: "Word list",
};

const $ = (id) => document.getElementById(id);

const state = {
  key: null,
  me: null,
  items: [], // queue items in the API's order (riskiest first)
  byId: new Map(),
  currentId: null,
  selected: new Set(),
  lastDecision: null, // {ids: [...], at: ms}
  cursor: null, // next_cursor of the last page loaded
  pollTimer: null,
  loading: false,
  pendingRefresh: false,
  pendingReset: false,
  appliedFilters: null, // the filters of the list on show, as JSON
  generation: 0, // bumped on each filter change and logout: answers of older requests are dropped
  detailToken: 0,
  detailTimer: null,
  busy: false,
};

const elements = new Map(); // id -> {li, signature}

// ---------------------------------------------------------------------------------------------------------------
// Small DOM helpers: text only.

function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function cssToken(value) {
  return String(value).toLowerCase().replace(/[^a-z0-9_-]/g, "_");
}

function categoryLabel(category) {
  return CATEGORY_LABELS[category] || String(category).replace(/_/g, " ");
}

function pad(n) {
  return String(n).padStart(2, "0");
}

function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "?";
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function shorten(text, codePoints) {
  const chars = Array.from(text || "");
  return chars.length > codePoints ? `${chars.slice(0, codePoints).join("")}…` : chars.join("");
}

function announce(message, kind = "info") {
  const region = $("status");
  region.classList.toggle("error", kind === "error");
  // The same message twice in a row is still read out: clear first, then set.
  region.textContent = "";
  window.setTimeout(() => {
    if (region.dataset.message === message) region.textContent = message;
  }, 30);
  region.dataset.message = message;
}

// ---------------------------------------------------------------------------------------------------------------
// The API.

class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.error) || {};
    super(detail.message || `HTTP ${status}`);
    this.status = status;
    this.code = detail.code || null;
    this.field = detail.field || null;
    this.claimedBy = detail.claimed_by || null;
  }
}

async function api(method, path, body, key = state.key) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${key}` };
  const init = { method, headers, credentials: "omit", cache: "no-store", redirect: "error", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, { error: { message: "the service cannot be reached" } });
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
  }
  if (!response.ok) {
    const failure = new ApiError(response.status, data);
    if (response.status === 401 && key === state.key && state.key) {
      logout("Your key is no longer accepted: sign in again.");
    }
    throw failure;
  }
  return data;
}

function describeError(error, id) {
  const subject = id ? `${id}: ` : "";
  if (error.status === 409 && error.claimedBy) return `${subject}claimed by ${error.claimedBy}. ${error.message}`;
  if (error.status === 0) return `${subject}${error.message}.`;
  return `${subject}${error.message} (HTTP ${error.status}).`;
}

// ---------------------------------------------------------------------------------------------------------------
// Signing in and out.

async function login(key) {
  let me;
  try {
    me = await api("GET", "/v1/me", undefined, key);
  } catch (error) {
    if (error.status === 401) announce("That key is not known to this service.", "error");
    else announce(`Cannot sign in: ${describeError(error)}`, "error");
    return false;
  }
  if (me && Number.isFinite(me.undo_seconds)) undoSeconds = me.undo_seconds;
  if (!me || (me.role !== "moderator" && me.role !== "admin")) {
    announce(`The ${me ? me.role : "unknown"} role cannot moderate: use a moderator's key.`, "error");
    return false;
  }
  state.key = key;
  state.me = me;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("who-name").textContent = me.name;
  $("who-role").textContent = me.sites ? `(${me.role}, sites: ${me.sites.join(", ")})` : `(${me.role})`;
  $("who").hidden = false;
  $("logout").hidden = false;
  $("login").hidden = true;
  $("workspace").hidden = false;
  announce(`Signed in as ${me.name}.`);
  loadCategories();
  await refresh({ reset: true });
  // The login form is gone: the queue takes the focus, unless the moderator is already elsewhere.
  if (!document.activeElement || document.activeElement === document.body) $("queue-title").focus();
  schedulePoll();
  return true;
}

function logout(message = "Logged out.") {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.me = null;
  state.generation += 1;
  window.clearTimeout(state.pollTimer);
  state.pollTimer = null;
  state.items = [];
  state.byId.clear();
  state.selected.clear();
  state.currentId = null;
  state.lastDecision = null;
  elements.clear();
  $("queue").replaceChildren();
  clearDetail();
  $("who").hidden = true;
  $("who-name").textContent = "";
  $("logout").hidden = true;
  $("workspace").hidden = true;
  $("login").hidden = false;
  $("api-key").value = "";
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  updateBulkBar();
  announce(message);
  $("api-key").focus();
}

// The flag filter lists the deployment's categories, as the (public) OpenAPI document names them.
async function loadCategories() {
  let categories = DEFAULT_CATEGORIES;
  try {
    const response = await fetch("/openapi.json", { credentials: "omit", cache: "no-store" });
    if (response.ok) {
      const documentBody = await response.json();
      const parameters = (((documentBody.paths || {})["/v1/queue"] || {}).get || {}).parameters || [];
      const flag = parameters.find((p) => p.name === "flag" && p.in === "query");
      if (flag && flag.schema && Array.isArray(flag.schema.enum) && flag.schema.enum.length) {
        categories = flag.schema.enum.filter((c) => typeof c === "string");
      }
    }
  } catch (error) {
    // the defaults will do
  }
  const select = $("filter-flag");
  const chosen = select.value;
  select.replaceChildren(el("option", { text: "Any flag", attrs: { value: "" } }));
  for (const category of categories) {
    select.append(el("option", { text: categoryLabel(category), attrs: { value: category } }));
  }
  select.value = categories.includes(chosen) ? chosen : "";
}

// ---------------------------------------------------------------------------------------------------------------
// The queue: load, poll, merge.

function filters() {
  return {
    status: $("filter-status").value,
    flag: $("filter-flag").value,
    site: $("filter-site").value.trim(),
    thread_id: $("filter-thread").value.trim(),
    unclaimed: $("filter-unclaimed").checked,
  };
}

function applied() {
  return state.appliedFilters ? JSON.parse(state.appliedFilters) : filters();
}

// The list on show follows the filters last applied, not what is half typed in a field.
function queuePath(limit, cursor) {
  const f = applied();
  const params = new URLSearchParams({ status: f.status });
  if (f.flag) params.set("flag", f.flag);
  if (f.site) params.set("site", f.site);
  if (f.thread_id) params.set("thread_id", f.thread_id);
  if (f.unclaimed) params.set("unclaimed", "true");
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return `/v1/queue?${params}`;
}

// New filters start a new list (no selection, the first item current); the same filters again only refresh it.
function applyFilters() {
  const wanted = JSON.stringify(filters());
  const changed = wanted !== state.appliedFilters;
  refresh({ reset: changed });
}

async function refresh({ reset = false } = {}) {
  if (!state.key) return;
  if (state.loading) {
    state.pendingRefresh = true;
    if (reset) state.pendingReset = true;
    return;
  }
  state.loading = true;
  if (reset) {
    state.generation += 1;
    state.appliedFilters = JSON.stringify(filters());
  }
  const generation = state.generation;
  try {
    // As many items as are on show: a poll keeps what "Load more" added.
    const limit = Math.min(MAX_PAGE, Math.max(PAGE_SIZE, reset ? PAGE_SIZE : state.items.length));
    const page = await api("GET", queuePath(limit));
    if (generation !== state.generation) return;
    if (reset) {
      state.selected.clear();
      state.currentId = null;
    }
    merge(page.items || [], page.next_cursor || null);
    loadStats(generation);
  } catch (error) {
    if (generation === state.generation && state.key) announce(`Queue not loaded: ${describeError(error)}`, "error");
  } finally {
    state.loading = false;
    if (state.pendingRefresh) {
      const again = state.pendingReset;
      state.pendingRefresh = false;
      state.pendingReset = false;
      refresh({ reset: Boolean(again) });
    }
  }
}

async function loadMore() {
  if (!state.cursor || state.loading) return;
  state.loading = true;
  const generation = state.generation;
  try {
    const page = await api("GET", queuePath(PAGE_SIZE, state.cursor));
    if (generation !== state.generation) return;
    const seen = new Set(state.items.map((item) => item.id));
    const more = (page.items || []).filter((item) => !seen.has(item.id));
    merge([...state.items, ...more], page.next_cursor || null);
    announce(`${more.length} more loaded.`);
  } catch (error) {
    announce(`More not loaded: ${describeError(error)}`, "error");
  } finally {
    state.loading = false;
  }
}

async function loadStats(generation) {
  const site = applied().site;
  try {
    const stats = await api("GET", `/v1/queue/stats${site ? `?${new URLSearchParams({ site })}` : ""}`);
    if (generation !== state.generation) return;
    const by = stats.by_status || {};
    $("stats").textContent = `${by.pending ?? 0} pending · ${by.approved ?? 0} approved · ${by.rejected ?? 0} rejected`;
  } catch (error) {
    $("stats").textContent = "";
  }
}

function merge(items, cursor) {
  const previousIndex = state.items.findIndex((item) => item.id === state.currentId);
  state.items = items;
  state.byId = new Map(items.map((item) => [item.id, item]));
  state.cursor = cursor;
  for (const id of [...state.selected]) if (!state.byId.has(id)) state.selected.delete(id);
  if (state.currentId !== null && !state.byId.has(state.currentId)) {
    // The current item left the queue (decided here or elsewhere): the one now in its place becomes current.
    const next = items[Math.min(Math.max(previousIndex, 0), items.length - 1)];
    setCurrent(next ? next.id : null, { focus: isQueueFocused(), scroll: false });
  }
  render();
  // Something is always current when there is something to show: its detail panel fills in.
  if (state.currentId === null && items.length) setCurrent(items[0].id, { focus: false, scroll: false });
  if (!items.length) clearDetail();
}

function replaceRecord(record) {
  // A decision or reopen answers with the CommentRecord: keep the queue's claim fields, take the rest.
  const old = state.byId.get(record.id);
  if (!old) return;
  const merged = { ...old, ...record };
  if (record.status !== "pending") {
    merged.claimed_by = null;
    merged.claim_expires_at = null;
  }
  state.items = state.items.map((item) => (item.id === record.id ? merged : item));
  state.byId.set(record.id, merged);
}

function schedulePoll() {
  window.clearTimeout(state.pollTimer);
  const every = Number(document.body.dataset.pollMs) || 5000;
  state.pollTimer = window.setTimeout(async () => {
    if (state.key && !document.hidden && !document.querySelector("dialog[open]")) await refresh();
    if (state.key) schedulePoll();
  }, every);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering the queue.

function signature(item) {
  return JSON.stringify([
    item.version, item.updated_at, item.status, item.claimed_by, item.claim_expires_at, item.moderation,
    undoable(item), claimLive(item),
  ]);
}

function claimLive(item) {
  return Boolean(item.claimed_by && item.claim_expires_at && new Date(item.claim_expires_at).getTime() > Date.now());
}

// The service says how long a decision can be reopened (GET /v1/me); 300 s until it has.
let undoSeconds = 300;

function undoWindowMs() {
  return undoSeconds * 1000;
}

function undoable(item) {
  if (item.status !== "approved" && item.status !== "rejected") return false;
  const decided = item.moderation && Date.parse(item.moderation.decided_at);
  return Boolean(decided) && Date.now() - decided < undoWindowMs();
}

function render() {
  const list = $("queue");
  const hadFocus = isQueueFocused();
  const keep = new Set(state.items.map((item) => item.id));
  for (const [id, entry] of elements) {
    if (!keep.has(id)) {
      entry.li.remove();
      elements.delete(id);
    }
  }
  state.items.forEach((item, index) => {
    let entry = elements.get(item.id);
    const sig = signature(item);
    if (!entry) {
      entry = { li: el("li", { className: "item", attrs: { tabindex: "-1" } }), signature: null };
      entry.li.dataset.id = item.id;
      elements.set(item.id, entry);
    }
    if (entry.signature !== sig) {
      fillItem(entry.li, item, index);
      entry.signature = sig;
    }
    // Move a node only when it is out of place, so that the focused one keeps its focus.
    if (list.children[index] !== entry.li) list.insertBefore(entry.li, list.children[index] || null);
  });
  for (const [id, entry] of elements) markItem(entry.li, id);
  $("queue-count").textContent = `(${state.items.length}${state.cursor ? "+" : ""})`;
  $("queue-empty").hidden = state.items.length > 0;
  $("load-more").hidden = !state.cursor;
  updateBulkBar();
  if (hadFocus && !isQueueFocused()) focusCurrent();
}

function markItem(li, id) {
  const current = id === state.currentId;
  const selected = state.selected.has(id);
  li.classList.toggle("current", current);
  li.classList.toggle("selected", selected);
  if (current) li.setAttribute("aria-current", "true");
  else li.removeAttribute("aria-current");
  const box = li.querySelector("input.select-box");
  if (box) box.checked = selected;
}

function fillItem(li, item, index) {
  const id = item.id;
  const verdict = item.verdict || {};
  const flags = new Set(verdict.flags || []);
  const headingId = `item-heading-${index}-${Math.random().toString(36).slice(2, 8)}`;
  li.setAttribute("aria-labelledby", headingId);
  li.className = `item status-${cssToken(item.status)}`;

  // Head: select box, id, decision, status, where and who.
  const box = el("input", { className: "select-box", attrs: { type: "checkbox", "aria-label": `Select ${id}` } });
  box.checked = state.selected.has(id);
  box.addEventListener("change", () => toggleSelected(id, box.checked));

  const author = item.author || {};
  const authorName = author.name || author.id || "anonymous";
  const meta = el(
    "p",
    { className: "meta" },
    el("span", { className: "site", text: `site ${item.site || "default"}` }),
    item.thread_id ? el("span", { className: "thread", text: `thread ${item.thread_id}` }) : null,
    el("span", { className: "author", text: `by ${authorName}` }),
    el("span", { className: "claim", text: claimText(item) }),
  );
  const head = el(
    "div",
    { className: "item-head" },
    el("label", { className: "select" }, box, el("span", { className: "visually-hidden", text: `Select ${id}` })),
    el("h3", { className: "item-id", text: id, attrs: { id: headingId } }),
    el("span", {
      className: `badge decision decision-${cssToken(verdict.decision || "none")}`,
      text: `policy: ${verdict.decision || "?"}`,
    }),
    el("span", { className: `badge state state-${cssToken(item.status)}`, text: statusText(item) }),
  );

  const text = el("p", { className: "text", attrs: { lang: verdict.language || null } });
  text.append(highlighted(item.text || "", verdict.evidence || {}));

  const actions = el("div", { className: "actions", attrs: { role: "group", "aria-label": `Actions on ${id}` } });
  const pending = item.status === "pending";
  if (pending) {
    actions.append(
      button("Claim", `Claim ${id}`, "c", () => claim(id)),
      button("Approve", `Approve ${id}`, "a", () => decide(id, "approve"), "approve"),
      button("Reject", `Reject ${id}`, "r", () => rejectOne(id), "danger"),
    );
    if (claimLive(item) && state.me && item.claimed_by === state.me.name) {
      actions.append(button("Release", `Release your claim on ${id}`, null, () => release(id)));
    }
  }
  if (undoable(item)) actions.append(button("Undo", `Undo the decision on ${id}`, "u", () => reopen([id])));

  li.replaceChildren(head, meta, text, evidenceList(verdict.evidence || {}), scores(verdict, flags), actions);
}

function button(label, aria, key, handler, kind) {
  const node = el("button", { className: kind || "", text: label, attrs: { type: "button", "aria-label": aria } });
  if (key) node.append(" ", el("kbd", { text: key, attrs: { "aria-hidden": "true" } }));
  node.addEventListener("click", (event) => {
    event.stopPropagation();
    const li = node.closest("li.item");
    if (li) setCurrent(li.dataset.id, { focus: false });
    handler();
  });
  return node;
}

function statusText(item) {
  const m = item.moderation;
  if (item.status === "rejected" && m) return `rejected${m.reason ? ` (${m.reason})` : ""} by ${m.decided_by}`;
  if (item.status === "approved" && m) return `approved by ${m.decided_by}`;
  return item.status;
}

function claimText(item) {
  if (item.status !== "pending") return "";
  if (!claimLive(item)) return "unclaimed";
  const mine = state.me && item.claimed_by === state.me.name;
  return `claimed by ${mine ? `you (${item.claimed_by})` : item.claimed_by} until ${clock(item.claim_expires_at)}`;
}

// Evidence spans as <mark> elements, nested where one span holds another. Offsets are code points (Python's
// string indices), so the text is split into code points first; a span that crosses another is cut at the
// boundary and carries on after it.
function highlighted(text, evidence) {
  const chars = Array.from(text);
  const spans = [];
  for (const [category, list] of Object.entries(evidence)) {
    if (!Array.isArray(list)) continue;
    for (const span of list) {
      const start = Math.max(0, Math.min(chars.length, Number(span.start) | 0));
      const end = Math.max(0, Math.min(chars.length, Number(span.end) | 0));
      if (end > start) spans.push({ start, end, category, cue: span.cue || "" });
    }
  }
  const fragment = document.createDocumentFragment();
  build(fragment, chars, 0, chars.length, sortSpans(spans));
  return fragment;
}

function sortSpans(spans) {
  return spans.sort((a, b) => a.start - b.start || b.end - a.end || a.category.localeCompare(b.category));
}

function build(parent, chars, from, to, spans) {
  let position = from;
  const queue = spans.slice();
  while (queue.length) {
    const span = queue.shift();
    const start = Math.max(span.start, position);
    const end = Math.min(span.end, to);
    if (start >= end) continue;
    if (start > position) parent.append(document.createTextNode(chars.slice(position, start).join("")));
    const inside = [];
    const rest = [];
    for (const other of queue) {
      if (other.start >= end) rest.push(other);
      else if (other.end <= end) inside.push(other);
      else {
        inside.push({ ...other, end });
        rest.push({ ...other, start: end });
      }
    }
    queue.splice(0, queue.length, ...sortSpans(rest));
    const mark = el("mark", {
      className: `ev ev-${cssToken(span.category)}`,
      attrs: { "data-category": span.category, "data-cue": span.cue, title: `${categoryLabel(span.category)} (${span.cue})` },
    });
    build(mark, chars, start, end, inside);
    parent.append(mark);
    position = end;
  }
  if (position < to) parent.append(document.createTextNode(chars.slice(position, to).join("")));
}

function evidenceList(evidence) {
  const entries = Object.entries(evidence).filter(([, list]) => Array.isArray(list) && list.length);
  if (!entries.length) return null;
  const list = el("ul", { className: "evidence", attrs: { "aria-label": "Evidence" } });
  for (const [category, spans] of entries) {
    const quotes = spans.map((span) => `“${shorten(span.text, 60)}”`).join(", ");
    list.append(
      el(
        "li",
        {},
        el("span", { className: `swatch ev-${cssToken(category)}`, attrs: { "aria-hidden": "true" } }),
        el("span", { className: "ev-name", text: `${categoryLabel(category)}: ` }),
        quotes,
      ),
    );
  }
  return list;
}

function scores(verdict, flags) {
  const table = el("table", { className: "scores" });
  table.append(el("caption", { className: "visually-hidden", text: "Scores" }));
  const body = el("tbody");
  const entries = Object.entries(verdict.scores || {}).sort((a, b) => {
    const flagged = Number(flags.has(b[0])) - Number(flags.has(a[0]));
    return flagged || b[1] - a[1];
  });
  for (const [category, value] of entries) {
    const flagged = flags.has(category);
    const name = el("th", { text: categoryLabel(category), attrs: { scope: "row" } });
    const meter = el("meter", {
      attrs: { min: "0", max: "1", low: "0.4", high: "0.7", optimum: "0", value: String(value), "aria-label": `${categoryLabel(category)} score` },
    });
    const number = el("td", { className: "num", text: Number(value).toFixed(2) });
    const row = el("tr", { className: flagged ? "flagged" : "" }, name, el("td", { className: "bar" }, meter), number);
    if (flagged) {
      name.append(el("span", { className: "visually-hidden", text: " (flagged)" }));
      row.dataset.flagged = "true";
    }
    body.append(row);
  }
  if (flags.has("wordlist") && !("wordlist" in (verdict.scores || {}))) {
    body.prepend(
      el("tr", { className: "flagged" }, el("th", { text: "Word list", attrs: { scope: "row" } }), el("td", { className: "bar", text: "match" }), el("td")),
    );
  }
  table.append(body);
  return table;
}

// ---------------------------------------------------------------------------------------------------------------
// Current item, selection, detail panel.

function isQueueFocused() {
  return Boolean(document.activeElement && document.activeElement.closest && document.activeElement.closest("#queue"));
}

function focusCurrent() {
  const entry = state.currentId !== null && elements.get(state.currentId);
  if (entry) entry.li.focus({ preventScroll: true });
}

function setCurrent(id, { focus = true, scroll = true } = {}) {
  const changed = id !== state.currentId;
  state.currentId = id;
  for (const [itemId, entry] of elements) markItem(entry.li, itemId);
  const entry = id !== null && elements.get(id);
  if (entry) {
    if (focus) entry.li.focus({ preventScroll: true });
    if (scroll) entry.li.scrollIntoView({ block: "nearest" });
  }
  if (changed) scheduleDetail();
}

function move(step) {
  if (!state.items.length) return;
  const index = state.items.findIndex((item) => item.id === state.currentId);
  const next = index < 0 ? 0 : Math.min(state.items.length - 1, Math.max(0, index + step));
  setCurrent(state.items[next].id);
}

function current() {
  return state.currentId !== null ? state.byId.get(state.currentId) : undefined;
}

function toggleSelected(id, on) {
  if (on) state.selected.add(id);
  else state.selected.delete(id);
  const entry = elements.get(id);
  if (entry) markItem(entry.li, id);
  updateBulkBar();
}

function updateBulkBar() {
  const count = state.selected.size;
  $("selection-count").textContent = `${count} selected`;
  $("bulk-approve").disabled = count === 0;
  $("bulk-reject").disabled = count === 0;
  $("undo-last").disabled = !state.lastDecision;
}

function clearDetail() {
  $("detail-id").textContent = "";
  $("detail-empty").hidden = false;
  $("author-panel").hidden = true;
  $("thread-panel").hidden = true;
  $("author-body").replaceChildren();
  $("thread-body").replaceChildren();
}

function scheduleDetail() {
  window.clearTimeout(state.detailTimer);
  state.detailTimer = window.setTimeout(loadDetail, 120);
}

async function loadDetail() {
  const item = current();
  const token = ++state.detailToken;
  if (!item) {
    clearDetail();
    return;
  }
  $("detail-id").textContent = item.id;
  $("detail-empty").hidden = true;
  $("author-panel").hidden = false;
  $("thread-panel").hidden = false;
  const authorBody = $("author-body");
  const threadBody = $("thread-body");
  authorBody.setAttribute("aria-busy", "true");
  threadBody.setAttribute("aria-busy", "true");
  authorBody.replaceChildren(el("p", { className: "hint", text: "Loading…" }));
  threadBody.replaceChildren(el("p", { className: "hint", text: "Loading…" }));

  const authorId = item.author && item.author.id;
  const authorTask = authorId
    ? api("GET", `/v1/authors/${encodeURIComponent(authorId)}`).then(
        (history) => renderAuthor(history, item),
        (error) =>
          el("p", { className: "hint", text: error.status === 404 ? "No history for this author yet." : `History not loaded: ${describeError(error)}` }),
      )
    : Promise.resolve(el("p", { className: "hint", text: "This comment has no author id: no history to show." }));
  const threadTask = api("GET", `/v1/comments/${encodeURIComponent(item.id)}/context`).then(
    (context) => renderContext(context, item),
    (error) => el("p", { className: "hint", text: `Thread not loaded: ${describeError(error)}` }),
  );
  const [authorNode, threadNode] = await Promise.all([authorTask, threadTask]);
  if (token !== state.detailToken) return;
  authorBody.replaceChildren(authorNode);
  threadBody.replaceChildren(threadNode);
  authorBody.removeAttribute("aria-busy");
  threadBody.removeAttribute("aria-busy");
}

function renderAuthor(history, item) {
  const box = document.createDocumentFragment();
  const name = (item.author && item.author.name) || history.author_id;
  box.append(el("p", { className: "author-name" }, el("strong", { text: name }), ` · id ${history.author_id}`));
  const counts = history.counts || {};
  const dl = el("dl", { className: "counts" });
  for (const key of ["published", "pending", "approved", "rejected"]) {
    dl.append(el("div", {}, el("dt", { text: key }), el("dd", { text: String(counts[key] ?? 0) })));
  }
  dl.append(el("div", {}, el("dt", { text: "total" }), el("dd", { text: String(history.total ?? 0) })));
  box.append(dl);
  const rate = history.rejection_rate;
  box.append(
    el("p", {
      className: "rate",
      text: rate === null || rate === undefined ? "Rejection rate: no decisions yet" : `Rejection rate: ${Math.round(rate * 100)}%`,
    }),
  );
  const reasons = Object.entries(history.reasons || {}).sort((a, b) => b[1] - a[1]).slice(0, 3);
  if (reasons.length) {
    box.append(
      el("p", {
        className: "reasons-top",
        text: `Top reasons: ${reasons.map(([code, n]) => `${REASON_LABELS.get(code) || code} ×${n}`).join(", ")}`,
      }),
    );
  }
  const latest = (history.comments || []).slice(0, 5);
  if (latest.length) {
    box.append(el("h4", { text: "Latest comments" }));
    const list = el("ol", { className: "mini-list" });
    for (const record of latest) list.append(miniComment(record, record.id === item.id));
    box.append(list);
  }
  return box;
}

function renderContext(context, item) {
  const box = document.createDocumentFragment();
  box.append(el("p", { className: "hint", text: item.thread_id ? `Thread ${item.thread_id}` : "No thread id." }));
  box.append(el("h4", { text: "Parent" }));
  if (context.parent) box.append(el("ol", { className: "mini-list" }, miniComment(context.parent, false)));
  else box.append(el("p", { className: "hint", text: "No parent: a top-level comment." }));
  const neighbours = context.neighbours || [];
  box.append(el("h4", { text: `Neighbours (${neighbours.length})` }));
  if (neighbours.length) {
    const list = el("ol", { className: "mini-list" });
    for (const record of neighbours) list.append(miniComment(record, false));
    box.append(list);
  } else {
    box.append(el("p", { className: "hint", text: "No other comments in this thread." }));
  }
  return box;
}

function miniComment(record, isThis) {
  const author = (record.author && (record.author.name || record.author.id)) || "anonymous";
  const reason = record.moderation && record.moderation.reason ? ` (${record.moderation.reason})` : "";
  return el(
    "li",
    { className: `mini${isThis ? " this" : ""}` },
    el(
      "p",
      { className: "mini-head" },
      el("span", { className: `badge state state-${cssToken(record.status)}`, text: `${record.status}${reason}` }),
      ` ${record.id} · ${author}${isThis ? " · this comment" : ""}`,
    ),
    el("p", { className: "mini-text", text: shorten(record.text, 200) }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Actions.

async function guarded(task) {
  if (state.busy) return;
  state.busy = true;
  try {
    await task();
  } finally {
    state.busy = false;
  }
}

function claim(id) {
  return guarded(async () => {
    try {
      const answer = await api("POST", `/v1/queue/${encodeURIComponent(id)}/claim`, {});
      const item = state.byId.get(id);
      if (item) {
        const updated = { ...item, claimed_by: answer.claimed_by, claim_expires_at: answer.claim_expires_at };
        state.items = state.items.map((x) => (x.id === id ? updated : x));
        state.byId.set(id, updated);
      }
      render();
      announce(`Claimed ${id} until ${clock(answer.claim_expires_at)}.`);
    } catch (error) {
      announce(`Not claimed: ${describeError(error, id)}`, "error");
    }
  });
}

function release(id) {
  return guarded(async () => {
    try {
      await api("DELETE", `/v1/queue/${encodeURIComponent(id)}/claim`);
      const item = state.byId.get(id);
      if (item) {
        const updated = { ...item, claimed_by: null, claim_expires_at: null };
        state.items = state.items.map((x) => (x.id === id ? updated : x));
        state.byId.set(id, updated);
      }
      render();
      announce(`Released ${id}.`);
    } catch (error) {
      announce(`Not released: ${describeError(error, id)}`, "error");
    }
  });
}

function decide(id, action, reason, note) {
  return guarded(async () => {
    const body = { action };
    if (reason) body.reason = reason;
    if (note) body.note = note;
    try {
      const record = await api("POST", `/v1/queue/${encodeURIComponent(id)}/decision`, body);
      replaceRecord(record);
      state.lastDecision = { ids: [id], at: Date.now() };
      const wasCurrent = state.currentId === id;
      render();
      if (wasCurrent) nextPending(id);
      const verb = action === "approve" ? "Approved" : "Rejected";
      announce(`${verb} ${id}${reason ? ` (${reason})` : ""}. Press u to undo.`);
    } catch (error) {
      announce(`Not ${action === "approve" ? "approved" : "rejected"}: ${describeError(error, id)}`, "error");
    }
  });
}

// After a decision the next pending item becomes current.
function nextPending(fromId) {
  const index = state.items.findIndex((item) => item.id === fromId);
  const after = state.items.slice(index + 1).find((item) => item.status === "pending");
  if (after) setCurrent(after.id, { focus: isQueueFocused() || document.activeElement === document.body });
}

async function rejectOne(id) {
  const item = state.byId.get(id);
  if (!item || item.status !== "pending") {
    announce(`${id} is not pending.`, "error");
    return;
  }
  const picked = await pickReason(`Comment ${id}`, [item]);
  if (picked) await decide(id, "reject", picked.reason, picked.note);
  focusCurrent();
}

function bulk(action, reason, note) {
  return guarded(async () => {
    const ids = state.items.filter((item) => state.selected.has(item.id)).map((item) => item.id);
    if (!ids.length) {
      announce("Nothing selected: press x on a comment to select it.", "error");
      return;
    }
    const decisions = ids.map((id) => {
      const one = { id, action };
      if (reason) one.reason = reason;
      if (note) one.note = note;
      return one;
    });
    try {
      const answer = await api("POST", "/v1/queue/decisions", { decisions });
      const done = [];
      const failed = [];
      for (const result of answer.results || []) {
        if (result.status === 200 && result.record) {
          replaceRecord(result.record);
          done.push(result.id);
          state.selected.delete(result.id);
        } else {
          const message = (result.error && result.error.message) || `HTTP ${result.status}`;
          failed.push(`${result.id}: ${message}`);
        }
      }
      if (done.length) state.lastDecision = { ids: done, at: Date.now() };
      render();
      const verb = action === "approve" ? "Approved" : "Rejected";
      let message = `${verb} ${done.length} of ${ids.length}${reason ? ` (${reason})` : ""}.`;
      if (done.length) message += " Press u to undo.";
      if (failed.length) message += ` Not done: ${failed.join("; ")}.`;
      announce(message, failed.length ? "error" : "info");
    } catch (error) {
      announce(`Bulk ${action} failed: ${describeError(error)}`, "error");
    }
  });
}

async function bulkReject() {
  const chosen = state.items.filter((item) => state.selected.has(item.id));
  if (!chosen.length) {
    announce("Nothing selected: press x on a comment to select it.", "error");
    return;
  }
  const picked = await pickReason(`${chosen.length} selected comments`, chosen);
  if (picked) await bulk("reject", picked.reason, picked.note);
  focusCurrent();
}

function reopen(ids) {
  return guarded(async () => {
    const done = [];
    const failed = [];
    for (const id of ids) {
      try {
        const record = await api("POST", `/v1/queue/${encodeURIComponent(id)}/reopen`, {});
        replaceRecord(record);
        done.push(id);
      } catch (error) {
        failed.push(describeError(error, id));
      }
    }
    if (state.lastDecision && done.length) {
      const left = state.lastDecision.ids.filter((id) => !done.includes(id));
      state.lastDecision = left.length ? { ...state.lastDecision, ids: left } : null;
    }
    render();
    // A reopened comment that a poll had already taken off the list comes back with the next page.
    if (done.some((id) => !state.byId.has(id))) refresh();
    if (done.length && !failed.length) announce(`Undone: ${done.join(", ")} ${done.length === 1 ? "is" : "are"} pending again.`);
    else if (done.length) announce(`Undone: ${done.join(", ")}. Not undone: ${failed.join(" ")}`, "error");
    else announce(`Not undone: ${failed.join(" ")}`, "error");
  });
}

function undoLast() {
  if (!state.lastDecision) {
    announce("Nothing to undo.", "error");
    return;
  }
  if (Date.now() - state.lastDecision.at > undoWindowMs()) {
    announce("The undo window has passed for your last decision.", "error");
  }
  reopen(state.lastDecision.ids.slice());
}

// ---------------------------------------------------------------------------------------------------------------
// Dialogs: the reason picker and the help.

function suggestedReason(items) {
  const flags = new Set(items.flatMap((item) => (item.verdict && item.verdict.flags) || []));
  for (const [flag, reason] of SUGGESTED_REASON) if (flags.has(flag)) return reason;
  return "OTHER";
}

let reasonResolve = null;

function buildReasonOptions() {
  const box = $("reason-options");
  box.replaceChildren();
  REASONS.forEach(([code, label], index) => {
    const id = `reason-${code}`;
    const input = el("input", { attrs: { type: "radio", name: "reason", id, value: code } });
    box.append(
      el(
        "div",
        { className: "reason-option" },
        input,
        el("label", { attrs: { for: id } }, label, " ", el("code", { text: code }), index < 9 ? el("kbd", { text: String(index + 1), attrs: { "aria-hidden": "true" } }) : null),
      ),
    );
  });
}

function pickReason(target, items) {
  const dialog = $("reason-dialog");
  $("reason-target").textContent = target;
  $("reason-note").value = "";
  const suggestion = suggestedReason(items);
  const radio = document.getElementById(`reason-${suggestion}`);
  radio.checked = true;
  return new Promise((resolve) => {
    reasonResolve = resolve;
    dialog.showModal();
    radio.focus();
  });
}

function finishReason(confirmed) {
  const dialog = $("reason-dialog");
  const resolve = reasonResolve;
  reasonResolve = null;
  let result = null;
  if (confirmed) {
    const chosen = dialog.querySelector("input[name=reason]:checked");
    if (chosen) result = { reason: chosen.value, note: $("reason-note").value.trim() };
  }
  if (dialog.open) dialog.close();
  if (resolve) resolve(result);
}

function openHelp() {
  const dialog = $("help-dialog");
  if (!dialog.open) dialog.showModal();
  $("help-close").focus();
}

// ---------------------------------------------------------------------------------------------------------------
// Keyboard.

function typing(target) {
  if (!target || !target.tagName) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName === "INPUT") return !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
  return false;
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (document.querySelector("dialog[open]")) return;
  if (typing(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    openHelp();
    return;
  }
  if (!state.key) return;
  const item = current();
  const handlers = {
    j: () => move(1),
    k: () => move(-1),
    a: () => (item ? decide(item.id, "approve") : announce("No comment is current: press j.", "error")),
    r: () => (item ? rejectOne(item.id) : announce("No comment is current: press j.", "error")),
    c: () => (item ? claim(item.id) : announce("No comment is current: press j.", "error")),
    x: () => (item ? toggleSelected(item.id, !state.selected.has(item.id)) : announce("No comment is current: press j.", "error")),
    A: () => bulk("approve"),
    R: () => bulkReject(),
    u: () => undoLast(),
  };
  const handler = handlers[event.key];
  if (!handler) return;
  event.preventDefault();
  handler();
}

// ---------------------------------------------------------------------------------------------------------------
// Wiring.

function wire() {
  buildReasonOptions();
  document.addEventListener("keydown", onKey);

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) {
      announce("Paste your API key first.", "error");
      $("api-key").focus();
      return;
    }
    const ok = await login(key);
    if (ok) $("api-key").value = "";
  });
  $("logout").addEventListener("click", () => logout());
  $("help-button").addEventListener("click", openHelp);
  $("help-close").addEventListener("click", () => $("help-dialog").close());
  $("help-dialog").addEventListener("close", () => focusCurrent());

  const filterForm = $("filters");
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilters();
  });
  for (const id of ["filter-status", "filter-flag", "filter-unclaimed", "filter-site", "filter-thread"]) {
    $(id).addEventListener("change", applyFilters);
  }
  // Escape in a filter field hands the keys back to the queue.
  filterForm.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !typing(event.target)) return;
    event.preventDefault();
    event.target.blur();
    if (state.currentId !== null) focusCurrent();
    else $("queue-title").focus();
  });
  $("load-more").addEventListener("click", loadMore);
  $("bulk-approve").addEventListener("click", () => bulk("approve"));
  $("bulk-reject").addEventListener("click", bulkReject);
  $("undo-last").addEventListener("click", undoLast);

  $("queue").addEventListener("click", (event) => {
    const li = event.target.closest("li.item");
    if (!li || event.target.closest("button, input, label")) return;
    setCurrent(li.dataset.id);
  });

  const reasonForm = $("reason-form");
  reasonForm.addEventListener("submit", (event) => {
    event.preventDefault();
    finishReason(true);
  });
  reasonForm.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !(event.target.tagName === "BUTTON")) {
      event.preventDefault();
      finishReason(true);
      return;
    }
    // Digits pick the reason with that number (1-9), unless typing the note.
    if (/^[1-9]$/.test(event.key) && event.target.id !== "reason-note") {
      const option = REASONS[Number(event.key) - 1];
      const radio = option && document.getElementById(`reason-${option[0]}`);
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        radio.focus();
      }
    }
  });
  $("reason-cancel").addEventListener("click", () => finishReason(false));
  // Escape (the dialog's own cancel) and any other way the dialog closes: no decision.
  $("reason-dialog").addEventListener("close", () => finishReason(false));

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.key) refresh();
  });

  const stored = sessionStorage.getItem(KEY_STORAGE);
  if (stored) {
    login(stored).then((ok) => {
      if (!ok) sessionStorage.removeItem(KEY_STORAGE);
    });
  } else {
    $("api-key").focus();
  }
}

wire();
