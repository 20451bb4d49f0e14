// The lobby manager's app: sign in, the hall, a ticket's triage sheet, the door, divert,
// pre-review and the relationship manager's day.
//
// URL: /lobby?token=<lobby device token>[&lang=en]
//
// Every action is one call to /api/v1/lobby/… with the device token and the signed-in staff
// member's session (X-Lobby-Session); the server runs it as a command with its event, so the
// counters, display and manager see it at once. The page keeps nothing of its own: after
// an action, and after every event of the stream, it reads the server's view again.
//
// Live: the same WebSocket as the display (/api/v1/events, since + epoch resume, heartbeats
// every 2 s, silent for SILENT_TIMEOUT_MS: dead). While it is not live the page shows the
// offline banner and every action is refused on the spot: a lobby manager must never believe
// a customer was given priority or a ticket when the server has not heard of it, so nothing
// is queued for later.
(function () {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const TOKEN = params.get("token") || "";
  const API = "/api/v1/lobby";
  const SESSION_KEY = "branchq.lobby.session";
  const DESK_KEY = "branchq.lobby.desk";
  const SILENT_TIMEOUT_MS = 8000;
  const REFUSED_RETRY_MS = 30000;
  const REQUEST_TIMEOUT_MS = 10000;
  const SCAN_EVERY_MS = 1200;
  // The name and ID number first: what the teller keys in, and what the customer says first.
  const EFORM_FIELDS = [
    "name", "id_number", "gender", "ethnicity", "birth_date",
    "address", "issued_by", "valid_from", "valid_to",
  ];
  const CHANNELS = ["atm", "app", "self_service"];

  const $ = (id) => document.getElementById(id);

  const state = {
    texts: {},
    lang: params.get("lang") === "en" ? "en" : "zh",
    screen: "loading",
    connection: "connecting", // connecting | live | reconnecting | refused
    epoch: null,
    seq: null,
    branch: null,
    services: new Map(),
    session: null, // {session, staff_id, name, expires_at}
    hall: null,
    ticket: null, // the lobby ticket view on the triage sheet
    myday: null,
    doorService: null,
    divertService: null,
    divertChannel: null,
    skewMs: 0, // the server's clock minus this tablet's, from the snapshot
    refused: 0, // actions refused because the page was offline (tests read it)
    frames: [],
    hallRenders: 0, // how often the hall was rebuilt (tests read it)
  };

  // --------------------------------------------------------------------- text
  function tr(key, values) {
    const table = state.texts[state.lang] || {};
    let text = table[key] ?? (state.texts.zh || {})[key] ?? key;
    for (const [k, v] of Object.entries(values || {})) {
      text = text.split("{" + k + "}").join(String(v));
    }
    return text;
  }

  function serviceName(code) {
    const svc = state.services.get(code);
    const names = (svc && svc.names) || {};
    return names[state.lang] || names.zh || code;
  }

  function minutesText(seconds) {
    if (seconds === null || seconds === undefined) return tr("lobby.wait.unknown");
    return tr("lobby.minutes", { minutes: Math.max(0, Math.round(seconds / 60)) });
  }

  function clockText(iso) {
    if (!iso) return "";
    const tz = (state.branch && state.branch.timezone) || undefined;
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(new Date(iso));
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function translateStatic() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    for (const node of document.querySelectorAll("[data-t]")) {
      node.textContent = tr(node.dataset.t);
    }
    for (const node of document.querySelectorAll("[data-ph]")) {
      node.placeholder = tr(node.dataset.ph);
    }
    $("find-number").placeholder = tr("lobby.find.placeholder");
    $("lang").textContent = state.lang === "zh" ? "English" : "中文";
    $("sign-out").textContent = tr("lobby.sign_out");
  }

  // -------------------------------------------------------------------- toast
  let toastTimer = null;
  function toast(text, kind) {
    const box = $("toast");
    box.textContent = text;
    box.dataset.kind = kind || "ok";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  function errorText(code, detail) {
    const key = "lobby.error." + code;
    const table = state.texts[state.lang] || {};
    return key in table ? tr(key) : tr("lobby.error.other", { detail: detail || code });
  }

  // ---------------------------------------------------------------------- api
  class Refused extends Error {
    constructor(code, detail, status) {
      super(detail || code);
      this.code = code;
      this.status = status;
    }
  }

  // One call to the lobby API. Refused at once while the stream is not live: the server may
  // be unreachable, and an action that might happen "later" is worse than one that did not.
  async function call(method, path, body, contentType) {
    if (state.connection !== "live") {
      state.refused += 1;
      throw new Refused("offline", tr("lobby.error.offline"), 0);
    }
    const headers = { Authorization: "Bearer " + TOKEN };
    if (state.session) headers["X-Lobby-Session"] = state.session.session;
    let payload;
    if (body instanceof Blob) {
      payload = body;
      headers["Content-Type"] = contentType || body.type;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    let r;
    try {
      r = await fetch(API + path, { method, headers, body: payload, signal: abort.signal });
    } catch (err) {
      throw new Refused("offline", tr("lobby.error.offline"), 0);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await r.json();
    } catch (err) {
      data = null;
    }
    if (!r.ok) {
      // The app answers {error: {code, message}}; the contract's sketch says {code, detail}.
      const body = (data && (data.error || data)) || {};
      const code = body.code || "http_" + r.status;
      const detail = body.message || (typeof body.detail === "string" ? body.detail : "");
      if (code === "lobby_signed_out" || (r.status === 401 && path !== "/sign-in")) {
        signedOut();
      }
      throw new Refused(code, detail, r.status);
    }
    return data;
  }

  // Run an action from a button: the button waits while it runs, an error is said in words.
  async function act(button, work, done) {
    if (button) button.dataset.busy = "1";
    renderActions();
    try {
      const result = await work();
      if (done) toast(done, "ok");
      return result;
    } catch (err) {
      if (err instanceof Refused) toast(errorText(err.code, err.message), "error");
      else toast(String(err), "error");
      return undefined;
    } finally {
      if (button) delete button.dataset.busy;
      renderActions();
    }
  }

  // ------------------------------------------------------------------ session
  function loadSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      if (saved && saved.session && Date.parse(saved.expires_at) > Date.now()) return saved;
    } catch (err) {
      // a damaged entry is as good as none
    }
    return null;
  }

  function signedOut() {
    state.session = null;
    sessionStorage.removeItem(SESSION_KEY);
    show("signin");
  }

  async function signIn(ev) {
    ev.preventDefault();
    const staffId = $("staff-id").value.trim();
    const pin = $("pin").value;
    const error = $("signin-error");
    error.hidden = true;
    if (!staffId || !pin) {
      error.textContent = tr("lobby.signin.missing");
      error.hidden = false;
      return;
    }
    try {
      $("signin").dataset.busy = "1";
      renderActions();
      const s = await call("POST", "/sign-in", { staff_id: staffId, pin });
      state.session = s;
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
      $("pin").value = "";
      show("hall");
    } catch (err) {
      error.textContent = errorText(err.code || "other", err.message);
      error.hidden = false;
    } finally {
      delete $("signin").dataset.busy;
      renderActions();
    }
  }

  async function signOut() {
    const button = $("sign-out");
    await act(button, () => call("POST", "/sign-out"));
    signedOut();
  }

  // ------------------------------------------------------------------ screens
  const LOADERS = {
    hall: () => loadHall(),
    myday: () => loadMyDay(),
    ticket: () => reloadTicket(),
  };

  function show(screen) {
    if (screen !== "scan") stopCamera();
    state.screen = screen;
    document.body.dataset.screen = screen;
    render();
    window.scrollTo(0, 0);
    if (LOADERS[screen] && state.connection === "live") LOADERS[screen]();
    if (screen === "scan") startCamera();
  }

  function render() {
    translateStatic();
    const signedIn = !!state.session;
    $("nav").hidden = !signedIn || ["signin", "refused", "loading"].includes(state.screen);
    $("sign-out").hidden = !signedIn;
    $("who").textContent = signedIn ? state.session.name + " · " + state.session.staff_id : "";
    $("branch").textContent = state.branch ? state.branch.name : tr("lobby.title");
    for (const b of document.querySelectorAll("#nav [data-go]")) {
      b.classList.toggle("on", b.dataset.go === state.screen);
    }
    renderOffline();
    if (state.screen === "hall") renderHall();
    if (state.screen === "ticket") renderTicket();
    if (state.screen === "door") renderChoices("door-services", "doorService", serviceCodes());
    if (state.screen === "divert") renderDivert();
    if (state.screen === "myday") renderMyDay();
    if (state.screen === "prereview") renderPrereview();
    renderActions();
  }

  function renderOffline() {
    const offline = state.connection !== "live" && state.connection !== "refused";
    const banner = $("offline");
    banner.hidden = !offline || state.screen === "loading";
    banner.textContent = tr("lobby.offline");
    document.body.dataset.connection = state.connection;
  }

  // Every action button is disabled while offline or while its own call runs.
  function renderActions() {
    const live = state.connection === "live";
    for (const b of document.querySelectorAll("button.act")) {
      b.disabled = !live || b.dataset.busy === "1";
    }
    if (state.screen === "ticket" && state.ticket) {
      const waiting = state.ticket.state === "waiting";
      for (const b of document.querySelectorAll("#screen-ticket button.act")) {
        if (!waiting) b.disabled = true;
      }
      $("hold").hidden = !!state.ticket.on_hold;
      $("release").hidden = !state.ticket.on_hold;
      $("hold-reason").hidden = !!state.ticket.on_hold;
      if (state.ticket.care_reason) $("f-care").querySelector("button").disabled = true;
    }
  }

  function serviceCodes() {
    return [...state.services.values()]
      .filter((s) => s.enabled !== false && s.visible !== false)
      .sort((a, b) => (a.sort || 0) - (b.sort || 0) || (a.code < b.code ? -1 : 1))
      .map((s) => s.code);
  }

  // A row of large buttons standing for one choice (business, channel).
  function renderChoices(boxId, key, codes, label) {
    const box = $(boxId);
    box.textContent = "";
    for (const code of codes) {
      const b = el("button", "choice", label ? label(code) : serviceName(code));
      b.type = "button";
      b.dataset.code = code;
      b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", String(state[key] === code));
      b.classList.toggle("on", state[key] === code);
      b.addEventListener("click", () => {
        state[key] = code;
        render();
      });
      box.appendChild(b);
    }
  }

  // ------------------------------------------------------------------- hall
  let hallLoading = false;
  let hallAgain = false;
  async function loadHall() {
    // One read at a time; events arriving meanwhile ask for one more read after it.
    if (hallLoading) {
      hallAgain = true;
      return;
    }
    hallLoading = true;
    try {
      state.hall = await call("GET", "/hall");
      if (state.screen === "hall") renderHall();
    } catch (err) {
      if (err.code !== "offline" && err.code !== "lobby_signed_out") {
        toast(errorText(err.code, err.message), "error");
      }
    } finally {
      hallLoading = false;
      if (hallAgain) {
        hallAgain = false;
        loadHall();
      }
    }
  }

  function ticketRow(t, extra) {
    const li = el("li", "row");
    const b = el("button", "row-btn");
    b.type = "button";
    b.dataset.number = t.number;
    b.appendChild(el("span", "row-number", t.number));
    b.appendChild(el("span", "row-main", serviceName(t.service)));
    b.appendChild(el("span", "row-side", extra));
    if (t.at_risk) b.classList.add("risk");
    b.addEventListener("click", () => openTicket(t.number));
    li.appendChild(b);
    return li;
  }

  function emptyRow(list) {
    list.appendChild(el("li", "empty", tr("lobby.none")));
  }

  // The hall is read again on every event. Rebuilt each time, a row under the manager's
  // finger could be replaced between press and release, and the tap lost: nothing is
  // rebuilt when nothing changed, and a change waits until the finger is lifted.
  let hallShown = "";
  let pressing = false;
  let hallDeferred = false;
  document.addEventListener("pointerdown", () => { pressing = true; }, true);
  const lifted = () => {
    pressing = false;
    if (!hallDeferred) return;
    hallDeferred = false;
    setTimeout(renderHall, 0); // after this press's click has been delivered
  };
  document.addEventListener("pointerup", lifted, true);
  document.addEventListener("pointercancel", lifted, true);

  function renderHall() {
    const h = state.hall;
    const shown = state.lang + state.services.size + JSON.stringify(h);
    if (shown === hallShown) return;
    if (pressing) {
      hallDeferred = true;
      return;
    }
    hallShown = shown;
    state.hallRenders += 1;
    const tiles = $("businesses");
    tiles.textContent = "";
    const lists = ["longest", "needs-help", "alerts", "appointments"];
    if (!h) {
      for (const id of lists) $(id).textContent = "";
      return;
    }
    for (const b of h.businesses || []) {
      const tile = el("div", "tile");
      tile.dataset.service = b.code;
      tile.dataset.waiting = String(b.waiting);
      tile.classList.toggle("risk", !!b.at_risk);
      tile.appendChild(el("div", "tile-name", (b.names && (b.names[state.lang] || b.names.zh)) || b.code));
      tile.appendChild(el("div", "tile-count", tr("lobby.people", { n: b.waiting })));
      tile.appendChild(el("div", "tile-eta", tr("lobby.hall.predicted", { wait: minutesText(b.predicted_wait_s) })));
      tiles.appendChild(tile);
    }
    const longest = $("longest");
    longest.textContent = "";
    for (const t of h.longest || []) {
      const side = tr("lobby.hall.waited", { wait: minutesText(t.waited_s) }) +
        (t.at_risk ? " · " + tr("lobby.hall.at_risk") : "");
      longest.appendChild(ticketRow(t, side));
    }
    if (!longest.children.length) emptyRow(longest);
    const help = $("needs-help");
    help.textContent = "";
    for (const t of h.needs_help || []) {
      const why = [];
      if (t.on_hold) {
        why.push(t.hold_reason ? tr("lobby.flag.held_with", { reason: t.hold_reason }) : tr("lobby.flag.held"));
      }
      if (t.care_reason) why.push(tr("lobby.flag.care_with", { reason: t.care_reason }));
      if (!why.length) why.push(tr("lobby.flag.flagged"));
      help.appendChild(ticketRow(t, why.join(" · ")));
    }
    if (!help.children.length) emptyRow(help);
    const alerts = $("alerts");
    alerts.textContent = "";
    for (const a of h.alerts || []) {
      // Worded as the manager's console words the kind, with what it is about.
      const li = el("li", "row alert");
      const table = state.texts[state.lang] || {};
      const kindKey = "manager.alert_kind." + a.kind;
      const parts = [tr(kindKey in table ? kindKey : "manager.alert_kind.other")];
      const subject = a.subject || {};
      if (subject.service) parts.push(serviceName(subject.service));
      if (subject.number) parts.push(subject.number);
      if (subject.counter) parts.push(tr("lobby.counter", { counter: subject.counter }));
      li.textContent = parts.join(" · ");
      alerts.appendChild(li);
    }
    if (!alerts.children.length) emptyRow(alerts);
    const appts = $("appointments");
    appts.textContent = "";
    for (const a of h.appointments || []) appts.appendChild(appointmentRow(a, false));
    if (!appts.children.length) emptyRow(appts);
  }

  // What became of a booking: not yet here, here with their ticket and where it stands.
  function appointmentStatus(a) {
    if (!a.checked_in) {
      if (a.state === "cancelled") return tr("lobby.appt.cancelled");
      if (a.state === "released") return tr("lobby.appt.released");
      return tr("lobby.appt.not_arrived");
    }
    const parts = [tr("lobby.appt.arrived", { number: a.ticket_number || "" })];
    if (a.ticket_state) parts.push(tr("lobby.state." + a.ticket_state));
    if (a.counter && a.ticket_state !== "waiting") {
      parts.push(tr("lobby.counter", { counter: a.counter }));
    } else if (a.target_counter && a.ticket_state === "waiting") {
      parts.push(tr("lobby.appt.at_desk", { counter: a.target_counter }));
    }
    return parts.join(" · ");
  }

  // A booking row: the hall's (slot_start, staff_id) or the relationship manager's own
  // (at, ticket_id, ticket_state, target_counter), which can send the customer to the desk.
  function appointmentRow(a, mine) {
    const li = el("li", "row appt");
    li.dataset.appointment = String(a.id);
    const line = el("div", "appt-line");
    line.appendChild(el("span", "row-number", clockText(a.at || a.slot_start)));
    const main = el("span", "row-main", serviceName(a.service));
    if (!mine && a.staff_id) main.appendChild(el("span", "row-sub", tr("lobby.appt.staff", { staff: a.staff_id })));
    line.appendChild(main);
    line.appendChild(el("span", "row-side" + (a.checked_in ? " arrived" : ""), appointmentStatus(a)));
    li.appendChild(line);
    if (a.checked_in && a.ticket_number) {
      const buttons = el("div", "buttons");
      const open = el("button", "", tr("lobby.appt.open"));
      open.type = "button";
      open.addEventListener("click", () => openTicket(a.ticket_number));
      buttons.appendChild(open);
      // Only a waiting customer can be sent, and not twice to the desk they already wait for.
      const desk = myDesk();
      if (mine && a.ticket_id && a.ticket_state === "waiting" &&
          !(desk && a.target_counter === desk)) {
        const send = el("button", "primary act", tr("lobby.myday.to_desk"));
        send.type = "button";
        send.dataset.ticket = String(a.ticket_id);
        send.addEventListener("click", () => sendToDesk(send, a.ticket_id));
        buttons.appendChild(send);
      }
      li.appendChild(buttons);
    }
    return li;
  }

  // ------------------------------------------------------------- find a ticket
  async function findTicket(ev) {
    ev.preventDefault();
    const number = $("find-number").value.trim().toUpperCase();
    if (!number) return;
    await openTicket(number, $("find"));
  }

  async function openTicket(number, button) {
    const err = $("find-error");
    err.hidden = true;
    const view = await act(button || null, () => call("GET", "/tickets/" + encodeURIComponent(number)));
    if (view) {
      state.ticket = view;
      $("find-number").value = "";
      show("ticket");
    }
  }

  async function reloadTicket() {
    if (!state.ticket) return;
    try {
      state.ticket = await call("GET", "/tickets/" + encodeURIComponent(state.ticket.number));
      if (state.screen === "ticket") render();
    } catch (err) {
      if (err.code === "not_found") toast(errorText(err.code), "error");
    }
  }

  // -------------------------------------------------------------- the camera
  let stream = null;
  let scanTimer = null;
  let scanning = false;

  async function startCamera() {
    const status = $("scan-status");
    status.textContent = tr("lobby.scan.starting");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = tr("lobby.scan.no_camera");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (err) {
      status.textContent = tr("lobby.scan.no_camera");
      return;
    }
    if (state.screen !== "scan") {
      stopCamera();
      return;
    }
    const video = $("scan-video");
    video.srcObject = stream;
    await video.play().catch(() => {});
    status.textContent = tr("lobby.scan.aim");
    scanTimer = setInterval(() => shoot(false), SCAN_EVERY_MS);
  }

  function stopCamera() {
    clearInterval(scanTimer);
    scanTimer = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    const video = $("scan-video");
    if (video) video.srcObject = null;
  }

  function frameBlob() {
    const video = $("scan-video");
    if (!video.videoWidth) return Promise.resolve(null);
    const canvas = $("scan-canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  // One frame to the server, which reads the QR; quiet while nothing is found unless asked.
  async function shoot(asked) {
    if (scanning || state.connection !== "live") {
      if (asked && state.connection !== "live") {
        state.refused += 1;
        toast(tr("lobby.error.offline"), "error");
      }
      return;
    }
    scanning = true;
    try {
      const blob = await frameBlob();
      if (!blob) return;
      const view = await call("POST", "/scan", blob, "image/jpeg");
      state.ticket = view;
      show("ticket");
    } catch (err) {
      if (asked || (err.code !== "no_code" && err.code !== "offline")) {
        $("scan-status").textContent = errorText(err.code, err.message);
      }
    } finally {
      scanning = false;
    }
  }

  // ------------------------------------------------------------ triage sheet
  function renderTicket() {
    const t = state.ticket;
    if (!t) return;
    $("t-number").textContent = t.number;
    $("t-service").textContent = serviceName(t.service);
    const facts = $("t-facts");
    facts.textContent = "";
    const fact = (label, value) => {
      const d = el("div", "fact");
      d.appendChild(el("span", "fact-label", label));
      d.appendChild(el("span", "fact-value", value));
      facts.appendChild(d);
    };
    fact(tr("lobby.ticket.state"), tr("lobby.state." + t.state));
    fact(tr("lobby.ticket.arrived"), clockText(t.arrived_at));
    fact(tr("lobby.ticket.waited"), minutesText(t.waited_s));
    if (t.position !== null && t.position !== undefined) fact(tr("lobby.ticket.position"), String(t.position));
    fact(tr("lobby.ticket.predicted"), minutesText(t.predicted_wait_s));
    const flags = $("t-flags");
    flags.textContent = "";
    const flag = (text, cls) => flags.appendChild(el("span", "flag " + cls, text));
    if (t.care_reason) flag(tr("lobby.flag.care_with", { reason: t.care_reason }), "care");
    // Priority already given: the form says so instead of offering it again.
    $("care-reason").hidden = !!t.care_reason;
    $("f-care").querySelector("button").textContent = tr(t.care_reason ? "lobby.ticket.care.done" : "lobby.ticket.care.go");
    if (t.on_hold) flag(tr("lobby.flag.held_with", { reason: t.hold_reason || "" }), "held");
    if (t.prereviewed) flag(tr("lobby.flag.prereviewed"), "ok");
    if ((t.documents_checked || []).length) flag(tr("lobby.flag.documents"), "ok");
    if (t.note) flag(tr("lobby.flag.note", { note: t.note }), "note");
    // The business change: every other business the branch offers.
    const select = $("business-to");
    const keep = select.value;
    select.textContent = "";
    for (const code of serviceCodes()) {
      if (code === t.service) continue;
      const o = el("option", "", serviceName(code));
      o.value = code;
      select.appendChild(o);
    }
    if (keep) select.value = keep;
    // The checklist is the kiosk's guidance for the business, in the page's language.
    const list = $("checklist");
    const items = (t.checklist && (t.checklist[state.lang] || t.checklist.zh)) || [];
    const checked = new Set(t.documents_checked || []);
    const ticked = new Set([...list.querySelectorAll("input:checked")].map((i) => Number(i.value)));
    const sameTicket = list.dataset.ticket === String(t.id) && list.dataset.leg === t.service;
    list.textContent = "";
    list.dataset.ticket = String(t.id);
    list.dataset.leg = t.service;
    items.forEach((text, i) => {
      const li = el("li");
      const label = el("label", "check");
      const box = el("input");
      box.type = "checkbox";
      box.value = String(i);
      box.checked = checked.has(i) || (sameTicket && ticked.has(i));
      label.appendChild(box);
      label.appendChild(el("span", "", text));
      li.appendChild(label);
      list.appendChild(li);
    });
    if (!items.length) list.appendChild(el("li", "empty", tr("lobby.ticket.documents.none")));
    $("f-documents").querySelector("button").hidden = !items.length;
    $("prereview-open").textContent = tr(t.prereviewed ? "lobby.prereview.again" : "lobby.prereview.open");
  }

  function ticketAction(form, path, body, done) {
    const button = form.querySelector("button[type=submit]") || form;
    return act(button, async () => {
      const view = await call("POST", "/tickets/" + state.ticket.id + path, body);
      // The answer is the ticket's new view when the server sends one; read it otherwise.
      if (view && view.number) state.ticket = view;
      else await reloadTicket();
      render();
      return true;
    }, done);
  }

  function reasonOrSay(input) {
    const reason = input.value.trim();
    if (!reason) {
      toast(tr("lobby.error.reason_required"), "error");
      input.focus();
      return null;
    }
    return reason;
  }

  function wireTriage() {
    $("f-business").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const service = $("business-to").value;
      if (!service) return;
      ticketAction(ev.target, "/business", { service }, tr("lobby.done.business"));
    });
    $("f-care").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = reasonOrSay($("care-reason"));
      if (reason === null) return;
      if (await ticketAction(ev.target, "/care", { reason }, tr("lobby.done.care"))) {
        $("care-reason").value = "";
      }
    });
    $("f-documents").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const checked = [...$("checklist").querySelectorAll("input:checked")].map((i) => Number(i.value));
      ticketAction(ev.target, "/documents", { checked }, tr("lobby.done.documents"));
    });
    $("f-note").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = $("note-text").value.trim();
      if (await ticketAction(ev.target, "/note", { text }, tr("lobby.done.note"))) {
        $("note-text").value = "";
      }
    });
    $("f-hold").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = reasonOrSay($("hold-reason"));
      if (reason === null) return;
      if (await ticketAction(ev.target, "/hold", { reason }, tr("lobby.done.hold"))) {
        $("hold-reason").value = "";
      }
    });
    $("release").addEventListener("click", () => {
      act($("release"), async () => {
        const view = await call("POST", "/tickets/" + state.ticket.id + "/release", {});
        if (view && view.number) state.ticket = view;
        else await reloadTicket();
        render();
      }, tr("lobby.done.release"));
    });
    $("f-cancel").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = reasonOrSay($("cancel-reason"));
      if (reason === null) return;
      if (await ticketAction(ev.target, "/cancel", { reason }, tr("lobby.done.cancel"))) {
        $("cancel-reason").value = "";
      }
    });
    $("ticket-back").addEventListener("click", () => show("hall"));
    $("prereview-open").addEventListener("click", () => {
      $("consent").checked = false;
      $("materials").checked = false;
      clearEform();
      show("prereview");
    });
    $("to-desk").addEventListener("click", () => sendToDesk($("to-desk"), state.ticket.id));
  }

  // -------------------------------------------------------------- pre-review
  function buildEform() {
    const box = $("eform");
    for (const f of EFORM_FIELDS) {
      const field = el("div", "field field-" + f);
      const label = el("label");
      label.htmlFor = "ef-" + f;
      label.dataset.t = "counter.eform.field." + f;
      const input = el("input");
      input.id = "ef-" + f;
      input.name = f;
      input.maxLength = 200;
      input.autocomplete = "off";
      if (f === "id_number") {
        input.maxLength = 18;
        input.autocapitalize = "characters"; // the check character X
        input.spellcheck = false;
      }
      field.append(label, input);
      box.appendChild(field);
    }
  }

  function renderPrereview() {
    const t = state.ticket;
    if (!t) return;
    // The business too: the form the customer fills is the one the counter needs for it.
    $("prereview-title").textContent =
      tr("lobby.prereview.title", { number: t.number }) + " · " + serviceName(t.service);
    // The server keeps a form only for a business that needs one: elsewhere the page asks
    // for no personal details at all, only whether the materials were reviewed.
    $("prereview-form-part").hidden = !t.needs_form;
    $("prereview-no-form").hidden = !!t.needs_form;
    $("eform").disabled = !$("consent").checked;
  }

  function clearEform() {
    for (const f of EFORM_FIELDS) $("ef-" + f).value = "";
  }

  function consentChanged() {
    // Consent withdrawn: what was typed under it goes at once, it is never sent.
    if (!$("consent").checked) clearEform();
    renderPrereview();
  }

  async function savePrereview(ev) {
    ev.preventDefault();
    const t = state.ticket;
    const withForm = !!t.needs_form && $("consent").checked;
    const fields = {};
    if (withForm) {
      for (const f of EFORM_FIELDS) {
        const v = $("ef-" + f).value.trim();
        if (v) fields[f] = v;
      }
    }
    const materials = $("materials").checked;
    if (!Object.keys(fields).length && !materials) {
      const why = t.needs_form && !$("consent").checked ? "consent_required" : "nothing_reviewed";
      toast(tr("lobby.error." + why), "error");
      return;
    }
    const view = await act($("prereview-save"), () =>
      call("POST", "/tickets/" + t.id + "/prereview", {
        consent: withForm, fields, materials_reviewed: materials,
      }), tr("lobby.done.prereview"));
    if (view) {
      // The form lives on the server only (in memory); nothing of it stays in this page.
      clearEform();
      $("consent").checked = false;
      $("materials").checked = false;
      if (view.number) state.ticket = view;
      show("ticket");
    }
  }

  // -------------------------------------------------------------------- door
  async function issueAtDoor(ev) {
    ev.preventDefault();
    if (!state.doorService) {
      toast(tr("lobby.error.choose_business"), "error");
      return;
    }
    const body = { service: state.doorService };
    if ($("door-care").checked) {
      const reason = reasonOrSay($("door-reason"));
      if (reason === null) return;
      body.care = true;
      body.reason = reason;
    }
    const issued = await act($("door-issue"), () => call("POST", "/tickets", body));
    if (!issued) return;
    $("door-number").textContent = issued.number;
    $("door-service").textContent = serviceName(issued.service);
    // The QR is the server's own SVG (made from the phone link, offline); shown as an image
    // so nothing in it can run as part of this page.
    const qr = $("door-qr");
    qr.textContent = "";
    if (issued.qr_svg) {
      const img = el("img");
      img.alt = tr("lobby.door.qr_alt");
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(issued.qr_svg);
      qr.appendChild(img);
    }
    $("f-door").hidden = true;
    $("door-issued").hidden = false;
  }

  function doorAgain() {
    state.doorService = null;
    $("door-care").checked = false;
    $("door-reason").value = "";
    $("door-reason").hidden = true;
    $("f-door").hidden = false;
    $("door-issued").hidden = true;
    render();
  }

  // ------------------------------------------------------------------ divert
  function renderDivert() {
    renderChoices("divert-services", "divertService", serviceCodes());
    renderChoices("divert-channels", "divertChannel", CHANNELS, (c) => tr("lobby.channel." + c));
  }

  async function divert(ev) {
    ev.preventDefault();
    if (!state.divertService || !state.divertChannel) {
      toast(tr("lobby.error.choose_divert"), "error");
      return;
    }
    const body = { service: state.divertService, channel: state.divertChannel };
    const ok = await act($("divert-go"), async () => {
      await call("POST", "/divert", body);
      return true;
    });
    if (ok) {
      const done = $("divert-done");
      done.textContent = tr("lobby.divert.done", {
        business: serviceName(body.service), channel: tr("lobby.channel." + body.channel),
      });
      done.hidden = false;
      state.divertService = null;
      state.divertChannel = null;
      render();
    }
  }

  // ------------------------------------------------------------------ my day
  async function loadMyDay() {
    try {
      state.myday = await call("GET", "/my-day");
      if (state.screen === "myday") render();
    } catch (err) {
      if (err.code !== "offline" && err.code !== "lobby_signed_out") {
        toast(errorText(err.code, err.message), "error");
      }
    }
  }

  let myDayShown = "";
  function renderMyDay() {
    const d = state.myday || {};
    // Rebuilt only when something in it changed: a list rebuilt under a finger (every
    // event of the hall re-reads the day) would swallow the tap on "send to my desk".
    const shown = JSON.stringify([d, myDesk(), state.lang]);
    if (shown !== myDayShown) {
      myDayShown = shown;
      renderMyDayLists(d);
    }
    const select = $("visit-service");
    if (!select.options.length || select.dataset.lang !== state.lang) {
      const keep = select.value;
      select.textContent = "";
      // No business chosen for them: a visit recorded under the wrong one skews the report.
      const none = el("option", "", tr("lobby.error.choose_business"));
      none.value = "";
      select.appendChild(none);
      for (const code of serviceCodes()) {
        const o = el("option", "", serviceName(code));
        o.value = code;
        select.appendChild(o);
      }
      select.dataset.lang = state.lang;
      if (keep) select.value = keep;
    }
    // Follow-ups are bookings: the picker steps through the branch's slots.
    if (d.slot_min) $("visit-follow").step = String(d.slot_min * 60);
    // A visit is recorded once made: the time starts at now (the server's), the usual case.
    if (!$("visit-at").value) $("visit-at").value = branchWallTime(serverNow());
  }

  function renderMyDayLists(d) {
    const list = $("my-appointments");
    list.textContent = "";
    for (const a of d.appointments || []) list.appendChild(appointmentRow(a, true));
    if (!list.children.length) emptyRow(list);
    const visits = $("my-visits");
    visits.textContent = "";
    for (const v of d.visits || []) {
      const li = el("li", "row visit");
      li.dataset.appointment = String(v.id);
      const line = el("div", "appt-line");
      line.appendChild(el("span", "row-number", clockText(v.at)));
      line.appendChild(el("span", "row-main", serviceName(v.service)));
      li.appendChild(line);
      const docs = (v.documents_collected || []).join("、");
      if (docs) li.appendChild(el("div", "row-note", docs));
      visits.appendChild(li);
    }
    if (!visits.children.length) emptyRow(visits);
  }

  function myDesk() {
    const n = Number($("my-desk").value);
    return Number.isInteger(n) && n > 0 ? n : null;
  }

  async function sendToDesk(button, ticketId) {
    const counter = myDesk();
    if (!counter) {
      toast(tr("lobby.error.desk_required"), "error");
      if (state.screen !== "myday") show("myday");
      $("my-desk").focus();
      return;
    }
    await act(button, async () => {
      await call("POST", "/tickets/" + ticketId + "/to-desk", { counter });
      if (state.screen === "myday") await loadMyDay();
      else await reloadTicket();
    }, tr("lobby.done.to_desk", { counter }));
  }

  // The branch's wall clock parts of an instant, whatever zone the tablet is set to.
  function branchParts(date) {
    const tz = (state.branch && state.branch.timezone) || undefined;
    const parts = {};
    const fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    });
    for (const p of fmt.formatToParts(date)) parts[p.type] = p.value;
    return parts;
  }

  function serverNow() {
    return new Date(Date.now() + (state.skewMs || 0));
  }

  function branchWallTime(date) {
    const p = branchParts(date);
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  }

  // A datetime-local value is the branch's wall time without a zone; the server wants an
  // instant, so it gets the branch's UTC offset at that time (found, not assumed: DST).
  function branchIso(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
    if (!m) return null;
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    let instant = wall;
    for (let i = 0; i < 2; i++) {
      const p = branchParts(new Date(instant));
      const seen = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
      instant = wall - (seen - instant);
    }
    const offset = Math.round((wall - instant) / 60000);
    const sign = offset < 0 ? "-" : "+";
    const abs = Math.abs(offset);
    const hh = String(Math.floor(abs / 60)).padStart(2, "0");
    const mm = String(abs % 60).padStart(2, "0");
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:00${sign}${hh}:${mm}`;
  }

  async function recordVisit(ev) {
    ev.preventDefault();
    if (!$("visit-service").value) {
      toast(tr("lobby.error.choose_business"), "error");
      return;
    }
    const at = branchIso($("visit-at").value);
    if (!at) {
      toast(tr("lobby.error.visit_at"), "error");
      return;
    }
    const docs = $("visit-docs").value.split(/[\n,，、;；]/).map((s) => s.trim()).filter(Boolean);
    const body = { service: $("visit-service").value, at, documents_collected: docs };
    const follow = branchIso($("visit-follow").value);
    if (follow) body.follow_up_slot = follow;
    const button = ev.target.querySelector("button[type=submit]");
    const day = await act(button, () => call("POST", "/visits", body), tr("lobby.done.visit"));
    if (day) {
      // The answer is the day the visit now belongs to (its follow-up booking included).
      state.myday = day;
      $("visit-docs").value = "";
      $("visit-follow").value = "";
      $("visit-at").value = "";
      render();
    }
  }

  // -------------------------------------------------------------- the stream
  let socket = null;
  let retryMs = 250;
  let retryTimer = null;
  let silentTimer = null;
  let held = false; // tests: branchqLobby.disconnect() holds reconnection until connect()

  function streamUrl() {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams({ token: TOKEN });
    if (state.seq !== null && state.epoch) {
      q.set("since", String(state.seq));
      q.set("epoch", state.epoch);
    }
    return proto + "//" + window.location.host + "/api/v1/events?" + q.toString();
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (socket || held) return;
    let first = true;
    const ws = new WebSocket(streamUrl());
    socket = ws;
    ws.onmessage = (msg) => {
      if (socket !== ws) return;
      armSilentTimer(ws);
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch (err) {
        return;
      }
      if (first) {
        first = false;
        state.frames.push(data.type);
        retryMs = 250;
        onMessage(data);
        setConnection("live");
        return;
      }
      onMessage(data);
    };
    ws.onclose = (ev) => {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(silentTimer);
      if (ev.code === 4401 || ev.code === 4403) {
        setConnection("refused");
        scheduleReconnect(REFUSED_RETRY_MS);
        return;
      }
      setConnection("reconnecting");
      scheduleReconnect(retryMs);
      retryMs = Math.min(retryMs * 2, 3000);
    };
    ws.onerror = () => {}; // onclose follows and decides
  }

  function armSilentTimer(ws) {
    clearTimeout(silentTimer);
    silentTimer = setTimeout(() => {
      if (socket === ws) ws.close(); // a dead link that never said so: start over
    }, SILENT_TIMEOUT_MS);
  }

  function scheduleReconnect(ms) {
    clearTimeout(retryTimer);
    if (!held) retryTimer = setTimeout(connect, ms);
  }

  function setConnection(value) {
    if (state.connection === value) return;
    const wasLive = state.connection === "live";
    state.connection = value;
    if (value === "refused") {
      show("refused");
      return;
    }
    if (state.screen === "loading" || state.screen === "refused") {
      show(state.session ? "hall" : "signin");
      return;
    }
    render();
    // Back online: what was on screen may be old; read it again.
    if (value === "live" && !wasLive && LOADERS[state.screen]) LOADERS[state.screen]();
  }

  let refreshTimer = null;
  function refreshSoon() {
    // A burst of events (a call-next moves many tickets) is one read, not one per event.
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      if (!state.session || state.connection !== "live") return;
      if (LOADERS[state.screen]) LOADERS[state.screen]();
    }, 150);
  }

  function onMessage(data) {
    if (data.type === "snapshot") {
      // The server's clock, not the tablet's, says what "now" is (a visit's time).
      if (data.at) state.skewMs = Date.parse(data.at) - Date.now();
      state.epoch = data.epoch;
      state.seq = data.seq;
      state.branch = data.branch;
      state.services = new Map((data.services || []).map((s) => [s.code, s]));
      render();
      refreshSoon();
    } else if (data.type === "events") {
      let changed = false;
      for (const ev of data.events) {
        if (state.seq !== null && ev.seq <= state.seq) continue; // already applied
        state.seq = ev.seq;
        if (ev.service) state.services.set(ev.service.code, ev.service);
        changed = true;
      }
      if (changed) refreshSoon();
    } else if (data.type === "waits") {
      if (state.screen === "hall") refreshSoon();
    }
    // "resume" and "heartbeat" keep the link alive: nothing to apply.
  }

  // ------------------------------------------------------------ for the tests
  window.branchqLobby = {
    get connection() { return state.connection; },
    get screen() { return state.screen; },
    get seq() { return state.seq; },
    get frames() { return state.frames.slice(); },
    get refused() { return state.refused; },
    get ticket() { return state.ticket; },
    get hall() { return state.hall; },
    get hallRenders() { return state.hallRenders; },
    get myday() { return state.myday; },
    disconnect() {
      held = true;
      clearTimeout(retryTimer);
      if (socket) socket.close();
    },
    connect() {
      held = false;
      connect();
    },
  };

  // -------------------------------------------------------------------- start
  async function start() {
    buildEform();
    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "zh" ? "en" : "zh";
      render();
    });
    $("sign-out").addEventListener("click", signOut);
    $("signin-form").addEventListener("submit", signIn);
    $("find-form").addEventListener("submit", findTicket);
    $("scan-open").addEventListener("click", () => show("scan"));
    $("scan-close").addEventListener("click", () => show("hall"));
    $("scan-shoot").addEventListener("click", () => shoot(true));
    $("f-prereview").addEventListener("submit", savePrereview);
    $("prereview-back").addEventListener("click", () => show("ticket"));
    $("consent").addEventListener("change", consentChanged);
    $("f-door").addEventListener("submit", issueAtDoor);
    $("door-again").addEventListener("click", doorAgain);
    $("door-care").addEventListener("change", () => {
      $("door-reason").hidden = !$("door-care").checked;
    });
    $("f-divert").addEventListener("submit", divert);
    $("f-visit").addEventListener("submit", recordVisit);
    $("my-desk").value = localStorage.getItem(DESK_KEY) || "";
    $("my-desk").addEventListener("change", () => {
      localStorage.setItem(DESK_KEY, $("my-desk").value);
      if (state.screen === "myday") render(); // the send buttons follow the desk
    });
    for (const b of document.querySelectorAll("#nav [data-go]")) {
      b.addEventListener("click", () => {
        if (b.dataset.go === "divert") $("divert-done").hidden = true;
        show(b.dataset.go);
      });
    }
    wireTriage();
    try {
      const r = await fetch("/lobby/text.json");
      state.texts = await r.json();
    } catch (err) {
      state.texts = {};
    }
    state.session = loadSession();
    render();
    if (!TOKEN) {
      state.connection = "refused";
      show("refused");
      return;
    }
    connect();
  }

  start();
})();
