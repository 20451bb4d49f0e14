// The head-office console: reads the centre's console API (cookie session) and keeps the
// network table live from the server-sent "branch changed" events. Plain DOM, no framework.
"use strict";

(function () {
  const API = "/console/api";
  const LIVE_S = 60;
  const STALE_S = 300;
  const REFRESH_MS = 30000; // a whole refetch now and then, in case a push was missed
  const TICK_MS = 5000; // ages on screen move on between pushes

  const TEXT = {
    zh: {
      title: "BranchQ 总行监控台", username: "用户名", password: "密码", sign_in: "登录",
      sign_out: "退出", lang: "English", tab_network: "网点总览", tab_reports: "对比报表",
      tab_devices: "设备状态", tab_knowledge: "业务知识库", region: "区域", all_regions: "全部区域", needs_attention: "只看需关注",
      back: "‹ 返回总览", businesses: "业务", counters: "窗口", alerts: "告警",
      recent_calls: "今日叫号", from: "起", to: "止", group: "按", day: "日", week: "周",
      month: "月", by: "对比", by_branch: "网点", by_business: "业务", metric: "指标",
      show: "查询", export_csv: "导出 CSV", export_xlsx: "导出 Excel",
      col_name: "网点", col_region: "区域", col_waiting: "等候人数", col_longest: "最长等候／目标",
      col_windows: "开放窗口", col_alerts: "告警", col_devices: "设备异常", col_link: "链路",
      col_fresh: "数据时效", col_backlog: "待传事件",
      link_live: "在线", link_stale: "延迟", link_offline: "离线", link_never: "未连接",
      summary: (shown, total, attention) => `显示 ${shown}／${total} 个网点，需关注 ${attention} 个`,
      live: "实时", connecting: "连接中…", head_office: "总行", regional: "区域：",
      bad_credentials: "用户名或密码错误。", sign_in_throttled: "密码错误次数过多，请稍后再试。",
      failed: "请求失败：", none: "无",
      service: "业务", target: "目标", waiting: "等候", windows: "窗口", issued: "取号",
      called: "叫号", served: "办结", within: "达标率", no_show: "过号", rating: "评价",
      counter: "窗口", name: "名称", state: "状态", staffed: "有人", serving: "在办",
      time: "时间", number: "号码", kind: "类型", recalled: "重呼", call: "叫号",
      alert_critical: "严重", alert_warning: "注意",
      open: "开放", paused: "暂停", closed: "关闭", yes: "是", no: "否",
      card_waiting: "等候人数", card_longest: "最长等候", card_windows: "开放窗口",
      card_alerts: "告警", card_link: "链路", card_fresh: "数据时效",
      period: "期间", label: "名称", wait_avg_s: "平均等候", wait_max_s: "最长等候",
      within_target_share: "达标率", no_show_share: "过号率", rating_avg: "平均评价",
      no_rows: "该范围内没有数据。", chart_top: (n, total) => `图中为取号量最多的 ${n} 个（共 ${total} 个）。`,
      visits: (n, d) => `${n} 个网点需上门，${d} 台设备异常`, no_visits: "全部设备正常。",
      health_fault: "故障", health_warning: "警告", health_unknown: "未知",
      device: "设备", detail: "说明", since: "持续",
      s: "秒", m: "分", h: "小时", d: "天", ago: "前",
    },
    en: {
      title: "BranchQ head office", username: "Username", password: "Password", sign_in: "Sign in",
      sign_out: "Sign out", lang: "中文", tab_network: "Network", tab_reports: "Reports",
      tab_devices: "Devices", tab_knowledge: "Knowledge base", region: "Region", all_regions: "All regions", needs_attention: "Needs attention only",
      back: "‹ Network", businesses: "Businesses", counters: "Counters", alerts: "Alerts",
      recent_calls: "Calls today", from: "From", to: "To", group: "By", day: "Day", week: "Week",
      month: "Month", by: "Compare", by_branch: "Branches", by_business: "Businesses", metric: "Chart",
      show: "Show", export_csv: "Export CSV", export_xlsx: "Export Excel",
      col_name: "Branch", col_region: "Region", col_waiting: "Waiting", col_longest: "Longest / target",
      col_windows: "Windows", col_alerts: "Alerts", col_devices: "Devices", col_link: "Link",
      col_fresh: "Data age", col_backlog: "Backlog",
      link_live: "Live", link_stale: "Stale", link_offline: "Offline", link_never: "Never",
      summary: (shown, total, attention) => `${shown} of ${total} branches, ${attention} need attention`,
      live: "Live", connecting: "Connecting…", head_office: "Head office", regional: "Region: ",
      bad_credentials: "Wrong username or password.", sign_in_throttled: "Too many wrong passwords: try again later.",
      failed: "Request failed: ", none: "None",
      service: "Business", target: "Target", waiting: "Waiting", windows: "Windows", issued: "Issued",
      called: "Called", served: "Served", within: "Within target", no_show: "No-shows", rating: "Rating",
      counter: "Counter", name: "Name", state: "State", staffed: "Staffed", serving: "Serving",
      time: "Time", number: "Number", kind: "Kind", recalled: "Recall", call: "Call",
      alert_critical: "Critical", alert_warning: "Warning",
      open: "Open", paused: "Paused", closed: "Closed", yes: "Yes", no: "No",
      card_waiting: "Waiting", card_longest: "Longest wait", card_windows: "Windows open",
      card_alerts: "Alerts", card_link: "Link", card_fresh: "Data age",
      period: "Period", label: "Name", wait_avg_s: "Average wait", wait_max_s: "Longest wait",
      within_target_share: "Within target", no_show_share: "No-show share", rating_avg: "Average rating",
      no_rows: "No figures in this range.", chart_top: (n, total) => `The chart shows the ${n} busiest of ${total}.`,
      visits: (n, d) => `${n} branches need a visit, ${d} devices not ok`, no_visits: "Every device is ok.",
      health_fault: "Fault", health_warning: "Warning", health_unknown: "Unknown",
      device: "Device", detail: "Detail", since: "For",
      s: "s", m: "min", h: "h", d: "d", ago: " ago",
    },
  };
  // The operations tab's words (kept apart from the other tabs').
  Object.assign(TEXT.zh, {
    tab_operations: "远程运维", notice_title: "发送大厅通知", notice_text: "通知内容（显示在网点叫号屏上）",
    notice_to: "发送范围", notice_until: "截止时间", notice_send: "发送", network_all: "全行所有网点",
    notice_sent: (n, until) => `已发布到 ${n} 个网点，显示至 ${until}。`, notice_failed: "发送失败：",
    col_software: "软件版本", col_config: "配置版本（发布／生效）", col_notice: "生效中的通知",
    col_visit: "需上门的设备", col_contact: "最近联系", pending: "待生效", refused: "已拒绝",
    ops_summary: (n, cfg, dev) => `${n} 个网点；${cfg} 个配置未生效，${dev} 个需上门`,
    notice_ended: "已结束", until_word: "至", out_of_scope: "只能发送到本区域。", bad_until: "截止时间须在今后 31 天内。",
    bad_notice: "通知须为 1 至 300 个字。", no_signing_key: "总行未配置签名密钥，无法发送。",
    refusal: {
      bad_signature: "签名无效", wrong_branch: "发给了其他网点", unknown_kind: "网点不接受此类文件",
      old_version: "版本不比网点现有的新", invalid_body: "文件内容缺失", invalid_config: "配置内容网点无法采用",
      invalid_notice: "通知内容无效", wrong_kind: "文件类型不符", prefix_in_use: "号码前缀仍被排空中的业务占用",
    },
    refusal_other: "网点拒绝（原因见提示）",
  });
  Object.assign(TEXT.en, {
    tab_operations: "Operations", notice_title: "Send a hall notice", notice_text: "Notice (shown on the branches' hall displays)",
    notice_to: "Send to", notice_until: "Show until", notice_send: "Send", network_all: "Every branch",
    notice_sent: (n, until) => `Published to ${n} branches, shown until ${until}.`, notice_failed: "Not sent: ",
    col_software: "Software", col_config: "Config (published / in force)", col_notice: "Notice in force",
    col_visit: "Devices needing a visit", col_contact: "Last contact", pending: "pending", refused: "refused",
    ops_summary: (n, cfg, dev) => `${n} branches; ${cfg} config not in force, ${dev} need a visit`,
    notice_ended: "ended", until_word: "until", out_of_scope: "You can send to your region only.", bad_until: "The end must be within the next 31 days.",
    bad_notice: "A notice has 1 to 300 characters.", no_signing_key: "The centre has no signing key: nothing can be sent.",
    refusal: {
      bad_signature: "bad signature", wrong_branch: "issued for another branch", unknown_kind: "the branch takes no such document",
      old_version: "not newer than the branch's version", invalid_body: "the document has no body",
      invalid_config: "a configuration the branch cannot take", invalid_notice: "an invalid notice", wrong_kind: "wrong document kind",
      prefix_in_use: "the number prefix is still used by a draining business",
    },
    refusal_other: "refused by the branch (see the tooltip)",
  });
  let lang = localStorage.getItem("branchq.console.lang") === "en" ? "en" : "zh";
  const t = (key) => TEXT[lang][key] ?? key;

  const hook = (window.branchqConsole = {
    view: null, connection: "connecting", rows: [], updates: 0, drill: null, report: null,
    devices: null, signedIn: false,
    // Further views (config.js) register here: {load(), render()} by view name.
    views: {}, text: TEXT, t: (key) => t(key), lang: () => lang,
    getJson: (path) => getJson(path), regions: () => regions,
  });
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  // ---------------------------------------------------------------- helpers
  async function getJson(path) {
    const r = await fetch(API + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status === 401) { showSignIn(); throw new Error("not_signed_in"); }
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.error?.code || `HTTP ${r.status}`);
    }
    return r.json();
  }

  function duration(s) {
    if (s == null) return "—";
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s}${t("s")}`;
    if (s < 3600 && s % 60 === 0) return `${s / 60}${t("m")}`;
    if (s < 3600) return `${Math.floor(s / 60)}${t("m")}${lang === "en" ? " " : ""}${String(s % 60).padStart(2, "0")}${t("s")}`;
    if (s < 86400) return `${Math.floor(s / 3600)}${t("h")}${lang === "en" ? " " : ""}${Math.floor((s % 3600) / 60)}${t("m")}`;
    return `${Math.floor(s / 86400)}${t("d")}`;
  }
  const pct = (x) => (x == null ? "—" : `${(x * 100).toFixed(1)}%`);
  const num = (x, digits = 0) => (x == null ? "—" : Number(x).toFixed(digits));
  const linkOf = (age) => (age == null ? "never" : age < LIVE_S ? "live" : age < STALE_S ? "stale" : "offline");
  const clock = (iso) => new Date(iso).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });

  function applyText() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    document.querySelectorAll(".lang-switch").forEach((el) => { el.textContent = t("lang"); });
    fillRegionSelects();
    fillNoticeRegions();
    fillMetricSelect();
    renderViewer();
    renderConnection();
  }

  // ---------------------------------------------------------------- sign-in
  function showSignIn() {
    hook.signedIn = false;
    stopLive();
    $("app").hidden = true;
    $("sign-in").hidden = false;
    $("username").focus();
  }

  $("sign-in-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("sign-in-error").textContent = "";
    const r = await fetch(API + "/sign-in", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    $("password").value = "";
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      $("sign-in-error").textContent = t(body.error?.code || "bad_credentials");
      return;
    }
    started(await r.json());
  });

  $("sign-out").addEventListener("click", async () => {
    await fetch(API + "/sign-out", { method: "POST", credentials: "same-origin" });
    hook.viewer = null;
    showSignIn();
  });

  document.querySelectorAll(".lang-switch").forEach((el) => el.addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("branchq.console.lang", lang);
    applyText();
    render();
  }));

  function renderViewer() {
    const v = hook.viewer;
    if (!v) return;
    const scope = v.role === "head_office" ? t("head_office") : t("regional") + regionName(v.region);
    $("viewer").textContent = `${v.username}（${scope}）`;
  }

  // ---------------------------------------------------------------- network table
  const COLUMNS = [
    { key: "name", head: "col_name", sort: (r) => r.name },
    { key: "region", head: "col_region", sort: (r) => r.region_name },
    { key: "waiting", head: "col_waiting", num: true, sort: (r) => r.waiting },
    { key: "longest", head: "col_longest", num: true, sort: (r) => (r.target_wait_s ? r.longest_wait_s / r.target_wait_s : (r.longest_wait_s ?? -1) / 1e6) },
    { key: "windows", head: "col_windows", num: true, sort: (r) => r.windows_open },
    { key: "alerts", head: "col_alerts", num: true, sort: (r) => r.alerts_open },
    { key: "devices", head: "col_devices", num: true, sort: (r) => r.devices_not_ok },
    { key: "link", head: "col_link", sort: (r) => contactAge(r) ?? 1e12 },
    { key: "fresh", head: "col_fresh", num: true, sort: (r) => freshness(r) ?? 1e12 },
    { key: "backlog", head: "col_backlog", num: true, sort: (r) => r.backlog },
  ];
  const sorting = { key: "longest", dir: -1 };
  let regions = [];
  let fetchedAt = Date.now();
  const elapsed = () => (Date.now() - fetchedAt) / 1000;
  const contactAge = (r) => (r.contact_age_s == null ? null : r.contact_age_s + (Date.now() - r._at) / 1000);
  const freshness = (r) => (r.freshness_s == null ? null : r.freshness_s + (Date.now() - r._at) / 1000);
  const regionName = (id) => regions.find((g) => g.id === id)?.name ?? id ?? "";

  function renderHead() {
    $("network-head").innerHTML = COLUMNS.map((c) => {
      const cls = ["sortable", c.num ? "num" : "", sorting.key === c.key ? (sorting.dir > 0 ? "sorted-asc" : "sorted-desc") : ""];
      return `<th class="${cls.join(" ")}" data-key="${c.key}">${esc(t(c.head))}</th>`;
    }).join("");
  }
  $("network-head").addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (!th) return;
    const key = th.dataset.key;
    sorting.dir = sorting.key === key ? -sorting.dir : (COLUMNS.find((c) => c.key === key).num ? -1 : 1);
    sorting.key = key;
    renderNetwork();
  });

  function visibleRows() {
    const region = $("region-filter").value;
    const attention = $("attention-filter").checked;
    const col = COLUMNS.find((c) => c.key === sorting.key);
    return hook.rows
      .filter((r) => (!region || r.region_id === region) && (!attention || needsAttention(r)))
      .sort((a, b) => {
        const x = col.sort(a), y = col.sort(b);
        const order = typeof x === "string" ? x.localeCompare(y, "zh-CN") : (x ?? -1) - (y ?? -1);
        return order * sorting.dir || a.name.localeCompare(b.name, "zh-CN");
      });
  }
  const needsAttention = (r) => linkOf(contactAge(r)) !== "live" || r.wait_status === "over" || r.alerts_open > 0 || r.devices_not_ok > 0;

  function rowHtml(r) {
    const link = linkOf(contactAge(r));
    const longest = r.longest_wait_s == null ? "—"
      : `<span class="${r.wait_status}-text">${duration(r.longest_wait_s + (Date.now() - r._at) / 1000)}</span>`
        + (r.target_wait_s ? `<span class="muted">／${duration(r.target_wait_s)}</span>` : "");
    return `<tr class="${r.wait_status}" data-branch="${esc(r.id)}">`
      + `<td class="name">${esc(r.name)}<span class="code">${esc(r.id)}</span></td>`
      + `<td>${esc(r.region_name)}</td>`
      + `<td class="num">${r.waiting}</td>`
      + `<td class="num">${longest}</td>`
      + `<td class="num">${r.windows_open}</td>`
      + `<td class="num">${r.alerts_open ? `<span class="over-text">${r.alerts_open}</span>` : 0}</td>`
      + `<td class="num">${r.devices_not_ok ? `<span class="near-text">${r.devices_not_ok}</span>` : 0}</td>`
      + `<td><span class="badge ${link}">${esc(t("link_" + link))}</span>`
      + (link !== "live" && contactAge(r) != null ? ` <span class="muted">${duration(contactAge(r))}${t("ago")}</span>` : "") + `</td>`
      + `<td class="num">${freshness(r) == null ? "—" : duration(freshness(r))}</td>`
      + `<td class="num">${r.backlog}</td></tr>`;
  }

  function renderNetwork() {
    renderHead();
    const rows = visibleRows();
    $("network-body").innerHTML = rows.map(rowHtml).join("");
    $("network-summary").textContent = t("summary")(rows.length, hook.rows.length, hook.rows.filter(needsAttention).length);
    hook.shown = rows.map((r) => r.id);
  }
  $("network-body").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-branch]");
    if (tr) location.hash = `#branch/${encodeURIComponent(tr.dataset.branch)}`;
  });
  $("region-filter").addEventListener("change", renderNetwork);
  $("attention-filter").addEventListener("change", renderNetwork);

  async function loadNetwork() {
    const data = await getJson("/network");
    fetchedAt = Date.now();
    data.branches.forEach((r) => { r._at = fetchedAt; });
    hook.rows = data.branches;
    regions = data.regions;
    hook.viewer = data.viewer;
    fillRegionSelects();
    fillNoticeRegions();
    renderViewer();
    if (hook.view === "network") renderNetwork();
  }

  async function refreshBranch(id) {
    const data = await getJson(`/network?branch=${encodeURIComponent(id)}`);
    const row = data.branches[0];
    if (!row) return;
    row._at = Date.now();
    const i = hook.rows.findIndex((r) => r.id === id);
    if (i >= 0) hook.rows[i] = row; else hook.rows.push(row);
    hook.updates += 1;
    hook.lastUpdate = id;
    if (hook.view === "network") {
      renderNetwork();
      document.querySelector(`tr[data-branch="${CSS.escape(id)}"]`)?.classList.add("flash");
    } else if (hook.view === "branch" && hook.drill?.branch.id === id) {
      loadBranch(id);
    }
  }

  function fillRegionSelects() {
    const v = hook.viewer;
    const options = (v && v.role === "regional" ? [] : [`<option value="">${esc(t("all_regions"))}</option>`])
      .concat(regions.map((g) => `<option value="${esc(g.id)}">${esc(g.name)}</option>`)).join("");
    for (const id of ["region-filter", "report-region", "device-region", "ops-region"]) {
      const sel = $(id);
      const keep = sel.value;
      sel.innerHTML = options;
      if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
    }
  }

  // ---------------------------------------------------------------- live
  let source = null;
  function startLive() {
    stopLive();
    hook.connection = "connecting";
    renderConnection();
    source = new EventSource(API + "/live");
    source.addEventListener("hello", () => { hook.connection = "live"; renderConnection(); });
    source.addEventListener("branch", (ev) => refreshBranch(ev.data).catch(() => {}));
    source.addEventListener("resync", () => { hook.connection = "live"; renderConnection(); loadNetwork().catch(() => {}); });
    source.addEventListener("signed-out", showSignIn);
    source.onerror = () => { hook.connection = "connecting"; renderConnection(); };
  }
  function stopLive() {
    if (source) source.close();
    source = null;
  }
  function renderConnection() {
    const el = $("connection");
    el.textContent = t(hook.connection === "live" ? "live" : "connecting");
    el.className = "connection " + hook.connection;
  }

  // ---------------------------------------------------------------- drill-down
  async function loadBranch(id) {
    const data = await getJson(`/branches/${encodeURIComponent(id)}`);
    data.branch._at = Date.now();
    hook.drill = data;
    if (hook.view === "branch") renderBranch();
  }

  function table(el, heads, rows) {
    el.innerHTML = `<thead><tr>${heads.map(([h, n]) => `<th class="${n ? "num" : ""}">${esc(t(h))}</th>`).join("")}</tr></thead>`
      + `<tbody>${rows.length ? rows.map((cells) => `<tr>${cells.map(([v, n, cls]) => `<td class="${n ? "num" : ""} ${cls || ""}">${v}</td>`).join("")}</tr>`).join("")
        : `<tr><td colspan="${heads.length}" class="muted">${esc(t("none"))}</td></tr>`}</tbody>`;
  }

  function renderBranch() {
    const d = hook.drill;
    if (!d) return;
    const b = d.branch;
    const link = linkOf(contactAge(b));
    $("branch-title").textContent = `${b.name}（${b.id}，${b.region_name}）`;
    const card = (label, value, cls = "") => `<div class="card"><div class="label">${esc(t(label))}</div><div class="value ${cls}">${value}</div></div>`;
    $("branch-cards").innerHTML = card("card_waiting", b.waiting)
      + card("card_longest", b.longest_wait_s == null ? "—" : `${duration(b.longest_wait_s)}${b.target_wait_s ? ` <small>／${duration(b.target_wait_s)}</small>` : ""}`, `${b.wait_status}-text`)
      + card("card_windows", b.windows_open)
      + card("card_alerts", b.alerts_open, b.alerts_open ? "over-text" : "")
      + card("card_link", `<span class="badge ${link}">${esc(t("link_" + link))}</span>`)
      + card("card_fresh", freshness(b) == null ? "—" : duration(freshness(b)));
    const name = (s) => (lang === "zh" ? s.name_zh : s.name_en);
    table($("business-table"),
      [["service"], ["target", 1], ["waiting", 1], ["card_longest", 1], ["windows", 1], ["issued", 1], ["called", 1], ["served", 1], ["within", 1], ["no_show", 1], ["rating", 1]],
      d.businesses.map((s) => {
        const over = s.target_wait_s && s.longest_wait_s >= s.target_wait_s;
        return [[`${esc(s.service)} ${esc(name(s))}`], [duration(s.target_wait_s), 1], [s.waiting, 1],
          [duration(s.longest_wait_s), 1, over ? "over-text" : ""], [s.windows_open, 1], [s.issued, 1], [s.called, 1],
          [s.served, 1], [pct(s.called ? s.within_target / s.called : null), 1], [s.no_show, 1], [num(s.rating_avg, 2), 1]];
      }));
    table($("counter-table"), [["counter", 1], ["name"], ["state"], ["staffed"], ["serving"], ["since", 1]],
      d.counters.map((c) => [[c.number, 1], [esc(c.name)], [esc(t(c.state))], [t(c.staffed ? "yes" : "no")], [esc(c.serving || "—")], [duration(c.since_s), 1]]));
    table($("call-table"), [["time"], ["number"], ["service"], ["counter", 1], ["kind"]],
      d.calls.map((c) => [[clock(c.at)], [esc(c.number)], [esc(c.service || "")], [esc(c.counter ?? ""), 1], [t(c.kind === "ticket.recalled" ? "recalled" : "call")]]));
    $("alert-list").innerHTML = d.alerts.length
      ? d.alerts.map((a) => `<li><span class="badge ${a.severity === "critical" || a.severity === "fault" ? "fault" : "warning"}" title="${esc(a.kind)}">${t(a.severity === "critical" || a.severity === "fault" ? "alert_critical" : "alert_warning")}</span> ${esc(a.detail)} <span class="muted">${clock(a.raised_at)}</span></li>`).join("")
      : `<li class="muted">${esc(t("none"))}</li>`;
  }

  // ---------------------------------------------------------------- reports
  const METRICS = ["issued", "wait_avg_s", "wait_max_s", "within_target_share", "no_show_share", "rating_avg", "served"];
  const METRIC_LABEL = { issued: "issued", served: "served", wait_avg_s: "wait_avg_s", wait_max_s: "wait_max_s", within_target_share: "within_target_share", no_show_share: "no_show_share", rating_avg: "rating_avg" };
  const PALETTE = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#ad1457"];
  const CHART_KEYS = 8;

  function fillMetricSelect() {
    const sel = $("report-metric");
    const keep = sel.value || "issued";
    sel.innerHTML = METRICS.map((m) => `<option value="${m}">${esc(t(METRIC_LABEL[m]))}</option>`).join("");
    sel.value = keep;
  }
  function reportQuery(format) {
    const q = new URLSearchParams({ first: $("report-first").value, last: $("report-last").value, group: $("report-group").value, by: $("report-by").value, format });
    if ($("report-region").value) q.set("region", $("report-region").value);
    return `${API}/reports?${q}`;
  }
  function metricText(m, v) {
    if (v == null) return "—";
    if (m.endsWith("_share")) return pct(v);
    if (m.endsWith("_s")) return duration(v);
    return m === "rating_avg" ? num(v, 2) : String(v);
  }

  async function loadReport() {
    $("export-csv").href = reportQuery("csv");
    $("export-xlsx").href = reportQuery("xlsx");
    const data = await fetch(reportQuery("json"), { credentials: "same-origin" });
    if (data.status === 401) return showSignIn();
    const body = await data.json();
    if (!data.ok) { $("report-chart").textContent = t("failed") + (body.error?.code || data.status); return; }
    hook.report = body;
    renderReport();
  }
  $("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReport(); });
  $("report-metric").addEventListener("change", () => renderReport());

  function renderReport() {
    const rep = hook.report;
    if (!rep) return;
    const metric = $("report-metric").value;
    const heads = ["period", "label", "issued", "called", "served", "wait_avg_s", "wait_max_s", "within_target_share", "no_show", "no_show_share", "rating_avg"];
    const numeric = new Set(heads.slice(2));
    table($("report-table"), heads.map((h) => [h, numeric.has(h)]), rep.rows.map((r) => heads.map((h) => [
      h === "label" ? `${esc(r.label)}${r.key !== r.label ? ` <span class="muted">${esc(r.key)}</span>` : ""}` : esc(numeric.has(h) ? metricText(h, r[h]) : r[h]), numeric.has(h)])));
    $("report-chart").innerHTML = rep.rows.length ? barChart(rep.rows, metric) : `<div class="empty">${esc(t("no_rows"))}</div>`;
  }

  // Grouped bars: one group per period, one bar per branch (or business), the busiest few.
  function barChart(rows, metric) {
    const volume = new Map();
    rows.forEach((r) => volume.set(r.key, (volume.get(r.key) || 0) + r.issued));
    const keys = [...volume.keys()].sort((a, b) => volume.get(b) - volume.get(a)).slice(0, CHART_KEYS);
    const labels = new Map(rows.map((r) => [r.key, r.label]));
    const periods = [...new Set(rows.map((r) => r.period))].sort();
    const value = new Map(rows.map((r) => [`${r.period}|${r.key}`, r[metric]]));
    const max = Math.max(1e-9, ...rows.filter((r) => keys.includes(r.key)).map((r) => r[metric] ?? 0));
    const W = 1200, H = 260, L = 70, R = 10, T = 14, B = 28;
    const gw = (W - L - R) / periods.length;
    const bw = Math.max(1, Math.min(28, (gw * 0.8) / keys.length));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    let svg = `<svg viewBox="0 0 ${W} ${H + 26}" role="img" aria-label="${esc(t(METRIC_LABEL[metric]))}">`;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      const tick = metric.endsWith("_share") || metric === "rating_avg" ? Math.round(v * 100) / 100 : Math.round(v);
      svg += `<line class="gridline" x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${esc(metricText(metric, tick))}</text>`;
    }
    const every = Math.ceil(periods.length / 16);
    periods.forEach((p, i) => {
      const x0 = L + i * gw + (gw - bw * keys.length) / 2;
      keys.forEach((k, j) => {
        const v = value.get(`${p}|${k}`);
        if (v == null) return;
        svg += `<rect x="${x0 + j * bw}" y="${y(v)}" width="${Math.max(1, bw - 1)}" height="${H - B - y(v)}" fill="${PALETTE[j]}"><title>${esc(labels.get(k))} ${esc(p)}：${esc(metricText(metric, v))}</title></rect>`;
      });
      if (i % every === 0) svg += `<text x="${L + i * gw + gw / 2}" y="${H - B + 16}" text-anchor="middle">${esc(p.slice(5))}</text>`;
    });
    svg += `<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`;
    let lx = L;
    keys.forEach((k, j) => {
      const label = String(labels.get(k));
      svg += `<rect x="${lx}" y="${H + 8}" width="12" height="12" fill="${PALETTE[j]}"/><text x="${lx + 16}" y="${H + 19}">${esc(label)}</text>`;
      lx += 30 + label.length * 13;
    });
    svg += "</svg>";
    const note = volume.size > keys.length ? `<div class="muted">${esc(t("chart_top")(keys.length, volume.size))}</div>` : "";
    return svg + note;
  }

  // ---------------------------------------------------------------- devices
  async function loadDevices() {
    const region = $("device-region").value;
    const data = await getJson("/devices" + (region ? `?region=${encodeURIComponent(region)}` : ""));
    hook.devices = data.branches;
    renderDevices();
  }
  $("device-region").addEventListener("change", () => loadDevices().catch(() => {}));

  function renderDevices() {
    const list = hook.devices;
    if (!list) return;
    const total = list.reduce((n, b) => n + b.devices.length, 0);
    $("device-summary").textContent = t("visits")(list.length, total);
    $("device-list").innerHTML = list.length ? list.map((b) => `<article class="visit ${b.worst}">`
      + `<h3><a href="#branch/${encodeURIComponent(b.branch_id)}">${esc(b.branch_name)}</a></h3>`
      + `<div class="region">${esc(b.region_name)} · ${esc(b.branch_id)}</div><table>`
      + b.devices.map((d) => `<tr><td><span class="badge ${esc(d.health)}">${esc(t("health_" + d.health))}</span></td>`
        + `<td>${esc(d.device)}</td><td>${esc(d.detail)}</td><td class="muted">${duration(d.for_s)}</td></tr>`).join("")
      + `</table></article>`).join("") : `<div class="empty">${esc(t("no_visits"))}</div>`;
  }

  // ---------------------------------------------------------------- operations
  // Per branch what it runs (software, config published vs in force, the notice it shows,
  // devices to visit), and a hall notice to a region or the network. Read-only towards the
  // queue: the only write is the notice, which the branch shows beside its own.
  async function loadFleet() {
    if (!$("notice-until").value) {
      // Proposed end: four hours from now, on the hour, in the manager's local time.
      const d = new Date(Date.now() + 4 * 3600000);
      d.setMinutes(0, 0, 0);
      const p2 = (x) => String(x).padStart(2, "0");
      $("notice-until").value = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:00`;
    }
    const data = await getJson("/fleet");
    hook.fleet = data.branches;
    renderFleet();
  }
  $("ops-region").addEventListener("change", () => renderFleet());
  hook.views.operations = { load: () => loadFleet(), render: () => renderFleet() };

  function fillNoticeRegions() {
    // Where a notice may go: a regional manager's own region only; head office also all.
    const v = hook.viewer;
    const sel = $("notice-region");
    const keep = sel.value;
    const own = v && v.role === "regional";
    sel.innerHTML = (own ? [] : [`<option value="">${esc(t("network_all"))}</option>`])
      .concat(regions.filter((g) => !own || g.id === v.region).map((g) => `<option value="${esc(g.id)}">${esc(g.name)}</option>`)).join("");
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }

  const stamp = (iso) => new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });

  // A branch reports "code: sentence" in English; the manager reads the code in their language
  // and the branch's own sentence as the tooltip.
  function refusalText(reason) {
    if (!reason) return "";
    const code = String(reason).split(":")[0].trim();
    return TEXT[lang].refusal[code] ?? t("refusal_other");
  }

  function configCell(r) {
    const v = (n) => (n == null ? "—" : `v${n}`);
    let html = `${v(r.config_published)} ／ ${v(r.config_deployed)}`;
    if (r.config_refused) {
      html = `<span class="over-text">${html} · ${esc(t("refused"))} v${r.config_refused}</span>`
        + `<div class="over-text" title="${esc(r.config_refused_reason || "")}">${esc(refusalText(r.config_refused_reason))}</div>`;
    } else if (r.config_published != null && r.config_published !== r.config_deployed) {
      html = `<span class="near-text">${html} · ${esc(t("pending"))}</span>`;
    }
    return html;
  }

  function noticeCell(r) {
    const n = r.notice;
    const published = r.notice_published != null && r.notice_published !== r.notice_deployed
      ? `<div class="near-text">v${r.notice_published} ${esc(t("pending"))}</div>` : "";
    if (!n || !n.text) return (published || `<span class="muted">${esc(t("none"))}</span>`);
    const ended = n.until && Date.parse(n.until) <= Date.now();
    return `<div${ended ? ' class="muted"' : ""}>${esc(n.text)}</div>`
      + `<div class="muted">${ended ? esc(t("notice_ended")) : `${esc(t("until_word"))} ${esc(stamp(n.until))}`}</div>` + published;
  }

  function visitCell(r) {
    if (!r.devices_not_ok) return `<span class="muted">${esc(t("none"))}</span>`;
    return `<ul class="fleet-faults">${r.device_faults.map((d) => `<li><span class="badge ${esc(d.health)}">${esc(t("health_" + d.health))}</span> ${esc(d.device)} <span class="muted">${esc(d.detail)}</span></li>`).join("")}</ul>`;
  }

  function renderFleet() {
    const list = hook.fleet;
    if (!list) return;
    const region = $("ops-region").value;
    const rows = list.filter((r) => !region || r.region === region);
    const contact = (r) => {
      if (!r.last_contact_at) return `<span class="over-text">${esc(t("link_never"))}</span>`;
      const age = (Date.now() - Date.parse(r.last_contact_at)) / 1000;
      const cls = { live: "", stale: "near-text", offline: "over-text" }[linkOf(age)];
      return `<span class="${cls}">${duration(age)}${t("ago")}</span>`;
    };
    // Software behind the newest any branch in view runs is marked: a visit or an update due.
    const parts = (v) => String(v || "").split(".").map((x) => parseInt(x, 10) || 0);
    const newer = (a, b) => { const x = parts(a), y = parts(b); for (let i = 0; i < Math.max(x.length, y.length); i++) { if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) > (y[i] || 0); } return false; };
    const newest = rows.reduce((best, r) => (r.software_version && (!best || newer(r.software_version, best)) ? r.software_version : best), null);
    const software = (r) => (!r.software_version ? "—" : r.software_version === newest ? esc(r.software_version) : `<span class="near-text">${esc(r.software_version)}</span>`);
    table($("fleet-table"),
      [["col_name"], ["col_region"], ["col_software"], ["col_config"], ["col_notice"], ["col_visit"], ["col_contact", 1]],
      rows.map((r) => [[`${esc(r.name)}<span class="code muted"> ${esc(r.branch)}</span>`], [esc(r.region_name)],
        [software(r)], [configCell(r), 0, "wrap"], [noticeCell(r), 0, "wrap"], [visitCell(r), 0, "wrap"], [contact(r), 1]]));
    document.querySelectorAll("#fleet-table tbody tr").forEach((tr, i) => { if (rows[i]) tr.dataset.branch = rows[i].branch; });
    const behind = rows.filter((r) => r.config_refused || (r.config_published != null && r.config_published !== r.config_deployed)).length;
    $("ops-summary").textContent = t("ops_summary")(rows.length, behind, rows.filter((r) => r.devices_not_ok).length);
  }

  $("notice-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const result = $("notice-result");
    result.className = "notice-result";
    result.textContent = "";
    const until = new Date($("notice-until").value); // the manager's local time, sent with its offset
    const r = await fetch(API + "/notices", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("notice-text").value, until: until.toISOString(), region: $("notice-region").value || null }),
    });
    if (r.status === 401) return showSignIn();
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const code = body.error?.code || `HTTP ${r.status}`;
      hook.noticeError = code;
      result.className = "notice-result failed";
      result.textContent = t("notice_failed") + (TEXT[lang][code] ? t(code) : body.error?.message || code);
      return;
    }
    hook.noticeError = null;
    hook.noticeSent = body;
    result.className = "notice-result ok";
    result.textContent = t("notice_sent")(body.branches.length, stamp(body.until));
    await loadFleet();
  });

  // ---------------------------------------------------------------- views
  function route() {
    const hash = location.hash.slice(1) || "network";
    const [view, arg] = hash.split("/");
    hook.view = ["network", "branch", "reports", "devices", ...Object.keys(hook.views)].includes(view) ? view : "network";
    document.querySelectorAll(".view").forEach((el) => { el.hidden = el.id !== `view-${hook.view}`; });
    document.querySelectorAll(".tabs a").forEach((a) => a.classList.toggle("active", a.dataset.view === hook.view || (hook.view === "branch" && a.dataset.view === "network")));
    if (hook.view === "network") renderNetwork();
    if (hook.view === "branch") { hook.drill = null; loadBranch(decodeURIComponent(arg || "")).catch(() => {}); }
    if (hook.view === "reports") loadReport().catch(() => {});
    if (hook.view === "devices") loadDevices().catch(() => {});
    if (hook.views[hook.view]) hook.views[hook.view].load(decodeURIComponent(arg || "")).catch(() => {});
  }
  function render() {
    if (hook.view === "network") renderNetwork();
    if (hook.view === "branch") renderBranch();
    if (hook.view === "reports") renderReport();
    if (hook.view === "devices") renderDevices();
    if (hook.views[hook.view]) hook.views[hook.view].render();
  }
  window.addEventListener("hashchange", () => { if (hook.signedIn) route(); });

  let timers = [];
  async function started(viewer) {
    hook.viewer = viewer;
    hook.signedIn = true;
    $("sign-in").hidden = true;
    $("app").hidden = false;
    const today = new Date();
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    if (!$("report-last").value) {
      $("report-last").value = iso(today);
      $("report-first").value = iso(new Date(today.getTime() - 13 * 86400000));
    }
    applyText();
    await loadNetwork();
    startLive();
    route();
    timers.forEach(clearInterval);
    timers = [
      setInterval(() => { if (hook.signedIn) loadNetwork().catch(() => {}); }, REFRESH_MS),
      setInterval(() => { if (hook.signedIn && hook.view === "network") renderNetwork(); }, TICK_MS),
    ];
  }

  applyText();
  getJson("/me").then(started).catch(() => {});
})();
