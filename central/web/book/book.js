// Network booking: the business, "now" or a day and time, the branches ranked for it, the
// booking at the chosen one, the QR. Days are written here, never by the browser's locale
// (a headless or foreign-set browser would show 11/27/2026).
// The customer's position (only when they tap "use my location") goes with the search that
// ranks by it and nowhere else; nothing is kept on the device or at the centre.
"use strict";

const TEXT = {
  zh: {
    title: "就近少等 · 网点预约",
    subtitle: "选择业务，看看哪家网点最快办上",
    switch: "English",
    "step.service": "选择业务",
    "step.branch": "选择网点",
    "step.time": "什么时候去",
    "step.slot": "确认时间",
    now: "现在就去",
    or_later: "或者预约以后的时间：先选日子，再选钟点。",
    today: "今天",
    tomorrow: "明天",
    no_times: "近几天各网点都已约满。",
    ranked_now: "按现在去排序：路上时间 + 现场等候",
    ranked_at: "按 {when} 排序：有名额的网点，路上时间短的在前",
    at_slot: "{when} 还有 {n} 个名额",
    booked_first: "预约客户按时到场，优先办理",
    travel_figure: "路上约 {min} 分钟",
    branches_free: "{n} 家可约",
    taken: "{when} 刚刚约满了。",
    take_next: "改约 {when}",
    none_left: "这家网点近几天已约满，请换一家网点。",
    locate: "用我的位置算路程",
    located: "已按您的位置计算路程（位置不会保存）。",
    unlocated: "未获得位置：按等候时间排序。",
    how: "合计 = 路上时间（直线距离按市区车速 {speed} 公里/小时，另加 {extra} 分钟）+ 现场预计等候。",
    distance: "距离 {km} 公里",
    travel: "路上约 {min} 分钟",
    wait: "现场等候约 {min} 分钟",
    wait_now: "现在到场",
    wait_long: "现场等候超过两小时",
    total: "合计约 {min} 分钟",
    pick: "选这家",
    unknown: "等候时间未知，暂不可预约",
    no_booking: "暂不提供网上预约",
    no_open_counter: "暂无窗口办理此业务",
    full: "该时段已约满",
    no_answer: "网点暂无应答",
    none: "附近暂无可预约的网点。",
    book: "确认预约",
    free: "余 {n}",
    full_slot: "已满",
    "done.title": "预约成功",
    "done.number": "预约号",
    "done.code": "取消码",
    "done.hint": "到该网点后，在取号机扫描上方二维码即可。",
    error: "出错了，请稍后再试。",
    minutes: "分钟",
  },
  en: {
    title: "Shortest wait · Book a branch",
    subtitle: "Pick a business and see which branch serves you soonest",
    switch: "中文",
    "step.service": "Pick a business",
    "step.branch": "Pick a branch",
    "step.time": "When will you go?",
    "step.slot": "Check the time",
    now: "Now",
    or_later: "Or book a later time: pick a day, then a time.",
    today: "Today",
    tomorrow: "Tomorrow",
    no_times: "Every branch is fully booked for the next days.",
    ranked_now: "Ranked for going now: travel + the wait there",
    ranked_at: "Ranked for {when}: branches with room, shortest travel first",
    at_slot: "{n} places left at {when}",
    booked_first: "Booked customers on time are served first",
    travel_figure: "about {min} min to get there",
    branches_free: "{n} branches",
    taken: "{when} has just been fully booked.",
    take_next: "Book {when} instead",
    none_left: "This branch is fully booked for the next days: please pick another branch.",
    locate: "Use my location for travel times",
    located: "Travel times use your location (it is not kept).",
    unlocated: "No location: ranked by the wait alone.",
    how: "Total = travel (straight line at {speed} km/h in town, plus {extra} min) + the predicted wait there.",
    distance: "{km} km away",
    travel: "about {min} min to get there",
    wait: "wait about {min} min",
    wait_now: "served on arrival",
    wait_long: "wait over two hours",
    total: "about {min} min in all",
    pick: "Choose",
    unknown: "Wait unknown: cannot be booked now",
    no_booking: "No online booking",
    no_open_counter: "No counter open for this business",
    full: "This time is full",
    no_answer: "The branch did not answer",
    none: "No branch can be booked nearby now.",
    book: "Book",
    free: "{n} left",
    full_slot: "Full",
    "done.title": "You are booked",
    "done.number": "Booking number",
    "done.code": "Cancel code",
    "done.hint": "At the branch, scan the QR code above at the ticket kiosk.",
    error: "Something went wrong. Please try again.",
    minutes: "min",
  },
};

const state = { lang: "zh", services: [], service: null, position: null, answer: null,
  branch: null, day: null, slot: null, times: null, timeDay: null, at: null, next: null };

// A branch's calendar day of an ISO date or local slot start ("2026-12-08…"), written out.
const WEEKDAY = { zh: "日一二三四五六", en: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] };
const MONTH = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec"];

function dayParts(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return state.lang === "zh"
    ? { date: `${m}月${d}日`, weekday: `周${WEEKDAY.zh[weekday]}` }
    : { date: `${d} ${MONTH[m - 1]}`, weekday: WEEKDAY.en[weekday] };
}

function dayText(iso) {
  const p = dayParts(iso);
  return state.lang === "zh" ? `${p.date} ${p.weekday}` : `${p.weekday} ${p.date}`;
}

function slotText(iso) { return `${dayText(iso)} ${hhmm(iso)}`; }

// "Today"/"Tomorrow" by the first day the centre offers (the branches' today), not the phone's.
function dayName(iso) {
  const today = state.times && state.times.today;
  const offset = today ? Math.round((Date.parse(iso) - Date.parse(today)) / 864e5) : null;
  if (offset === 0) return t("today");
  if (offset === 1) return t("tomorrow");
  return dayParts(iso).weekday;
}
const $ = (id) => document.getElementById(id);

function t(key, values) {
  let s = TEXT[state.lang][key] || key;
  for (const [k, v] of Object.entries(values || {})) s = s.replace(`{${k}}`, String(v));
  return s;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function nameOf(names) {
  return (names && (names[state.lang] || names.zh || names.en)) || "";
}

function showError(on) {
  $("page-error").hidden = !on;
  $("page-error").textContent = on ? t("error") : "";
}

async function api(path, options) {
  const answer = await fetch(path, options);
  const body = await answer.json().catch(() => null);
  if (!answer.ok) throw Object.assign(new Error("refused"), { status: answer.status, body });
  return body;
}

function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  renderServices();
  renderTimes();
  renderBranches();
  renderSlots();
  if (!$("taken").hidden) renderTaken($("taken").dataset.gone);
}

function renderServices() {
  const box = $("services");
  box.replaceChildren(...state.services.map((s) => {
    const b = el("button", { type: "button", class: "choice", "data-code": s.code,
      role: "radio", "aria-checked": String(s.code === state.service) }, nameOf(s.names));
    b.addEventListener("click", () => chooseService(s.code));
    return b;
  }));
}

async function chooseService(code) {
  state.service = code;
  state.branch = state.slot = state.at = state.times = state.timeDay = null;
  $("when").hidden = $("done").hidden = true;
  renderServices();
  renderTimes();
  $("time").hidden = false;
  await Promise.all([loadTimes(code), search()]);
}

async function loadTimes(code) {
  try {
    const times = await api(`/api/v1/book/times?${new URLSearchParams({ service: code })}`);
    if (state.service !== code) return;  // the customer has moved on to another business
    state.times = times;
    state.timeDay = times.days.length ? times.days[0].day : null;
  } catch (e) {
    showError(true);
  }
  renderTimes();
}

function radio(cls, checked, children, onPick, data) {
  const b = el("button", { type: "button", class: `choice ${cls}`, role: "radio",
    "aria-checked": String(checked), ...data }, ...children);
  b.addEventListener("click", onPick);
  return b;
}

function renderTimes() {
  $("now").textContent = t("now");
  $("now").setAttribute("aria-checked", String(state.at === null));
  const days = state.times ? state.times.days : [];
  $("no-times").hidden = !state.times || days.length > 0;
  $("no-times").textContent = t("no_times");
  $("time-days").replaceChildren(...days.map((d) => radio("day",
    d.day === state.timeDay, [el("strong", {}, dayName(d.day)), el("span", {}, dayParts(d.day).date)],
    () => { state.timeDay = d.day; renderTimes(); }, { "data-day": d.day })));
  const day = days.find((d) => d.day === state.timeDay);
  $("time-slots").replaceChildren(...(day ? day.slots : []).map((s) => radio("slot",
    s.slot_start === state.at, [el("strong", {}, hhmm(s.slot_start)),
      el("span", {}, t("branches_free", { n: s.branches }))],
    () => chooseTime(s.slot_start), { "data-start": s.slot_start })));
}

async function chooseTime(at) {
  if (state.at === at) return;
  state.at = at;
  state.branch = state.slot = null;
  $("when").hidden = true;
  renderTimes();
  await search();
  $("where").scrollIntoView({ block: "start" });
}

async function search() {
  const q = new URLSearchParams({ service: state.service });
  if (state.at) q.set("slot", state.at);
  if (state.position) {
    q.set("lat", state.position.lat.toFixed(4));
    q.set("lon", state.position.lon.toFixed(4));
  }
  try {
    state.answer = await api(`/api/v1/book/branches?${q}`);
    showError(false);
  } catch (e) {
    state.answer = null;
    showError(true);
  }
  $("where").hidden = false;
  renderBranches();
  document.body.dataset.located = String(Boolean(state.answer && state.answer.located));
  document.body.dataset.ranked = state.answer ? state.answer.ranked_by : "";
  document.body.dataset.screen = "branches";
}

function locate() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (p) => {
      state.position = { lat: p.coords.latitude, lon: p.coords.longitude };
      if (state.service) search();
    },
    () => { state.position = null; renderBranches(); },
    { timeout: 10000, maximumAge: 300000 },
  );
}

function figure(key, min) {
  return el("span", { class: "figure" }, t(key, { min }));
}

function renderBranches() {
  const a = state.answer;
  if (!a) return;
  const chosen = state.services.find((s) => s.code === state.service);
  $("for-service").textContent = chosen ? `· ${nameOf(chosen.names)}` : "";
  $("how").textContent = t("how", { speed: a.speed_kmh, extra: a.overhead_min });
  $("how").hidden = a.slot !== null;
  $("ranked-for").textContent = a.slot === null ? t("ranked_now")
    : t("ranked_at", { when: slotText(a.slot) });
  $("located").hidden = false;
  $("located").textContent = a.located ? t("located") : t("unlocated");
  const list = $("branches");
  list.replaceChildren(...a.branches.map((b, i) => {
    const lines = [];
    if (b.distance_km !== null) {
      lines.push(el("span", {}, t("distance", { km: b.distance_km })),
        el("span", {}, t("travel", { min: b.travel_min })));
    }
    let total = el("span", { class: "figure" }, "");
    if (a.slot !== null) {
      // At a slot the wait is the booked customer's (served first, on time), not today's queue.
      lines.push(el("span", { class: "room" }, t("at_slot", { when: hhmm(a.slot), n: b.slot_free })),
        el("span", {}, t("booked_first")));
      if (b.total_min !== null) total = figure("travel_figure", b.total_min);
    } else {
      if (b.wait_capped) lines.push(el("span", { class: "long" }, t("wait_long")));
      else if (b.wait_min === 0) lines.push(el("span", {}, t("wait_now")));
      else lines.push(el("span", {}, t("wait", { min: b.wait_min })));
      if (b.total_min !== null && !b.wait_capped) total = figure("total", b.total_min);
    }
    const pick = el("button", { type: "button", class: "primary pick" }, t("pick"));
    pick.addEventListener("click", () => chooseBranch(b));
    const card = el("li", { class: "branch" + (i === 0 ? " best" : ""), "data-branch": b.branch },
      el("div", { class: "branch-head" }, el("span", { class: "rank" }, String(i + 1)),
        el("strong", { class: "branch-name" }, b.name), total),
      el("div", { class: "facts" }, ...lines), pick);
    return card;
  }));
  if (!a.branches.length) list.replaceChildren(el("li", { class: "note" }, t("none")));
  $("unavailable").replaceChildren(...a.unavailable.map((b) =>
    el("li", { class: "branch off", "data-branch": b.branch },
      el("strong", { class: "branch-name" }, b.name),
      el("span", { class: "facts" }, t(b.reason === "wait_unknown" ? "unknown" : b.reason)))));
}

async function chooseBranch(branch) {
  state.branch = branch;
  state.slot = null;
  $("chosen-branch").textContent = branch.name;
  $("taken").hidden = true;
  $("when").hidden = false;
  try {
    const offer = await api(`/api/v1/book/slots?${new URLSearchParams({
      branch: branch.branch, service: state.service })}`);
    state.days = offer.days;
    // The time the branches were ranked for is the one to book: chosen already, one tap left.
    const at = state.answer && state.answer.slot;
    await chooseDay(at && offer.days.includes(at.slice(0, 10)) ? at.slice(0, 10) : offer.days[0]);
    if (at && state.slots.some((s) => s.slot_start === at && s.bookable)) {
      state.slot = at;
      renderSlots();
    }
    showError(false);
  } catch (e) {
    showError(true);
  }
  $("when").scrollIntoView({ block: "start" });
}

async function chooseDay(day) {
  state.day = day;
  state.slot = null;
  state.slots = await api(`/api/v1/book/slots?${new URLSearchParams({
    branch: state.branch.branch, service: state.service, day })}`);
  renderSlots();
  document.body.dataset.screen = "slots";
}

function hhmm(iso) { return iso.slice(11, 16); }

function renderSlots() {
  if (!state.branch || !state.days) return;
  $("days").replaceChildren(...state.days.map((d) => {
    const b = el("button", { type: "button", class: "choice day", "data-day": d, role: "radio",
      "aria-checked": String(d === state.day) }, el("strong", {}, dayName(d)),
    el("span", {}, dayParts(d).date));
    b.addEventListener("click", () => chooseDay(d).catch(() => showError(true)));
    return b;
  }));
  $("slots").replaceChildren(...(state.slots || []).map((s) => {
    const b = el("button", { type: "button", class: "choice slot", "data-start": s.slot_start,
      role: "radio", "aria-checked": String(s.slot_start === state.slot) },
    el("strong", {}, hhmm(s.slot_start)),
    el("span", {}, s.bookable ? t("free", { n: s.free }) : t("full_slot")));
    b.disabled = !s.bookable;
    b.addEventListener("click", () => {
      state.slot = s.slot_start;
      $("taken").hidden = true;
      renderSlots();
    });
    return b;
  }));
  $("book").disabled = !state.slot;
}

// The branch's refusals that mean "not this time any more": offer its next free one.
const GONE = new Set(["slot_full", "slot_not_offered", "slot_in_past"]);

async function book() {
  $("book").disabled = true;
  $("taken").hidden = true;
  try {
    const done = await api("/api/v1/book", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ branch: state.branch.branch, service: state.service,
        slot_start: state.slot }),
    });
    showDone(done);
  } catch (e) {
    const code = e.body && e.body.error && e.body.error.code;
    if (GONE.has(code)) await offerNext(state.slot);
    else showError(true);
    $("book").disabled = !state.slot;
  }
}

// The first bookable slot after `gone` at the chosen branch, on its day or a later one.
async function offerNext(gone) {
  state.slot = null;
  state.next = null;
  for (const day of state.days.filter((d) => d >= gone.slice(0, 10))) {
    await chooseDay(day);
    state.next = state.slots.find((s) => s.bookable && s.slot_start > gone) || null;
    if (state.next) break;
  }
  if (state.next) await chooseDay(state.next.slot_start.slice(0, 10));
  renderTaken(gone);
  $("taken").scrollIntoView({ block: "center" });
}

function renderTaken(gone) {
  $("taken").hidden = false;
  $("take-next").hidden = !state.next;
  $("taken-text").textContent = t("taken", { when: slotText(gone) })
    + (state.next ? "" : (state.lang === "zh" ? "" : " ") + t("none_left"));
  if (state.next) $("take-next").textContent = t("take_next", { when: slotText(state.next.slot_start) });
  $("taken").dataset.gone = gone;
  document.body.dataset.screen = "taken";
}

function takeNext() {
  state.slot = state.next.slot_start;
  renderSlots();
  book();
}

function showDone(done) {
  $("choose").hidden = $("where").hidden = $("when").hidden = true;
  $("done").hidden = false;
  $("done-branch").textContent = state.branch.name;
  $("done-when").textContent = `${slotText(done.slot_start)}–${hhmm(done.slot_end)}`;
  // The branch's own QR picture: an SVG it drew, shown as an image (no markup is inserted).
  const img = el("img", { alt: done.qr, src: "data:image/svg+xml;charset=utf-8," +
    encodeURIComponent(done.qr_svg) });
  $("qr").replaceChildren(img);
  $("qr-text").textContent = done.qr;
  $("done-number").textContent = done.booking_number;
  $("done-code").textContent = done.cancel_code;
  document.body.dataset.screen = "done";
  window.scrollTo(0, 0);
}

async function start() {
  $("language").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    translate();
  });
  $("locate").addEventListener("click", locate);
  $("book").addEventListener("click", book);
  $("take-next").addEventListener("click", takeNext);
  $("now").addEventListener("click", () => {
    if (state.at === null) return;
    state.at = null;
    state.branch = state.slot = null;
    $("when").hidden = true;
    renderTimes();
    search();
  });
  translate();
  try {
    state.services = await api("/api/v1/book/services");
    renderServices();
  } catch (e) {
    showError(true);
  }
  document.body.dataset.ready = "true";
}

start();
