// Network booking: the business, the ranked branches, a time at the chosen one, the QR.
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
    "step.slot": "选择时间",
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
    "step.slot": "Pick a time",
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
  branch: null, day: null, slot: null };
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
  renderBranches();
  renderSlots();
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
  state.branch = state.slot = null;
  $("when").hidden = $("done").hidden = true;
  renderServices();
  await search();
}

async function search() {
  const q = new URLSearchParams({ service: state.service });
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
  $("located").hidden = false;
  $("located").textContent = a.located ? t("located") : t("unlocated");
  const list = $("branches");
  list.replaceChildren(...a.branches.map((b, i) => {
    const lines = [];
    if (b.distance_km !== null) {
      lines.push(el("span", {}, t("distance", { km: b.distance_km })),
        el("span", {}, t("travel", { min: b.travel_min })));
    }
    if (b.wait_capped) lines.push(el("span", { class: "long" }, t("wait_long")));
    else if (b.wait_min === 0) lines.push(el("span", {}, t("wait_now")));
    else lines.push(el("span", {}, t("wait", { min: b.wait_min })));
    const total = b.total_min !== null && !b.wait_capped
      ? figure("total", b.total_min) : el("span", { class: "figure" }, "");
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
  $("when").hidden = false;
  try {
    const offer = await api(`/api/v1/book/slots?${new URLSearchParams({
      branch: branch.branch, service: state.service })}`);
    state.days = offer.days;
    await chooseDay(offer.days[0]);
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
      "aria-checked": String(d === state.day) }, d.slice(5));
    b.addEventListener("click", () => chooseDay(d).catch(() => showError(true)));
    return b;
  }));
  $("slots").replaceChildren(...(state.slots || []).map((s) => {
    const b = el("button", { type: "button", class: "choice slot", "data-start": s.slot_start,
      role: "radio", "aria-checked": String(s.slot_start === state.slot) },
    el("strong", {}, hhmm(s.slot_start)),
    el("span", {}, s.bookable ? t("free", { n: s.free }) : t("full_slot")));
    b.disabled = !s.bookable;
    b.addEventListener("click", () => { state.slot = s.slot_start; renderSlots(); });
    return b;
  }));
  $("book").disabled = !state.slot;
}

async function book() {
  $("book").disabled = true;
  try {
    const done = await api("/api/v1/book", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ branch: state.branch.branch, service: state.service,
        slot_start: state.slot }),
    });
    showDone(done);
  } catch (e) {
    showError(true);
    $("book").disabled = false;
  }
}

function showDone(done) {
  $("choose").hidden = $("where").hidden = $("when").hidden = true;
  $("done").hidden = false;
  $("done-branch").textContent = state.branch.name;
  $("done-when").textContent = `${done.slot_start.slice(0, 10)} ${hhmm(done.slot_start)}–${hhmm(done.slot_end)}`;
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
