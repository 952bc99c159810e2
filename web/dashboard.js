/*
 * dashboard.js — the script of sluiced's dashboard page (sluiced(8),
 * DASHBOARD). Every REFRESH_S seconds (?refresh=N, 1..300, default 5) it
 * reads /dashboard/data.json (status, counters, alerts, farms, verifiers,
 * top users and rules) and, at most once a sampling interval,
 * /dashboard/history.json (the last hour, one sample every 10 s), then
 * redraws. Text from the gateway (user, rule, member names) is only ever
 * set as textContent, never parsed as HTML.
 *
 * For tests, the page describes itself in the DOM: <body data-refreshes=N
 * data-state="ok|error">, each chart data-series / data-points, each farm
 * member row data-member="FARM/NAME" data-state="up|down|drained|...";
 * a script error or a Content-Security-Policy violation sets
 * data-js-error / data-csp-violation on <body>.
 */
"use strict";
(function () {
	const params = new URLSearchParams(location.search);
	const REFRESH_S = Math.max(1, Math.min(300,
		Number(params.get("refresh")) || 5));
	const HOUR = 3600;
	const MIN_SPAN = 60; /* the time axis spans at least this (s) */
	const MiB = 1048576;

	/* The charts: FIELD names the counters table's row (history.json
	 * series, data.json counters); RATE charts show per-second rates of
	 * counters that only grow. */
	const CHARTS = [
		{id: "chart-capacity", series: [
			{label: "backlog (packets)", field: "packets_backlogged", stroke: "#d9480f"},
			{label: "pending", field: "decisions_pending", stroke: "#1971c2"},
			{label: "free slots", field: "slots_available", stroke: "#2f9e44"}]},
		{id: "chart-verdicts", rate: true, series: [
			{label: "kernel allow", field: "sessions_kernel_allowed", stroke: "#2f9e44"},
			{label: "kernel deny", field: "sessions_kernel_denied", stroke: "#c92a2a"},
			{label: "sluiced allow", field: "verdicts_allow", stroke: "#74b816"},
			{label: "sluiced deny", field: "verdicts_deny", stroke: "#f76707"},
			{label: "sluiced fail", field: "verdicts_fail", stroke: "#862e9c"}]},
		{id: "chart-events", rate: true, series: [
			{label: "timed out", field: "decisions_timed_out", stroke: "#c92a2a"},
			{label: "DNS cache hits", field: "dns_cache_hits", stroke: "#1971c2"},
			{label: "identity cache hits", field: "identity_cache_hits", stroke: "#0c8599"}]},
		{id: "chart-memory", scale: 1 / MiB, series: [
			{label: "resident", field: "process_resident_memory_bytes", stroke: "#5f3dc4"},
			{label: "heap in use", field: "process_heap_bytes", stroke: "#e67700"}]},
	];
	const STATE_CLASS = {u: "st-u", d: "st-d", r: "st-r", "?": "st-q"};

	/* what went wrong in the page, for people and tests */
	window.addEventListener("error", (e) => {
		document.body.dataset.jsError = String(e.message);
	});
	document.addEventListener("securitypolicyviolation", (e) => {
		document.body.dataset.cspViolation = e.violatedDirective + " " + e.blockedURI;
	});

	let hist = null, histAt = 0, refreshes = 0, last = null;
	/* The time axis of charts and strips: the last hour, or less while
	 * sluiced has not run that long (from its first sample). */
	function span(now) {
		const first = hist && hist.t.length ? hist.t[0] : now;
		return [Math.max(now - HOUR, Math.min(first, now - MIN_SPAN)), now];
	}
	const plots = {};

	function $(id) { return document.getElementById(id); }
	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}
	function row(cells, cls) {
		const tr = el("tr", cls);
		for (const c of cells)
			tr.appendChild(c instanceof Node ? wrapTd(c) : el("td", null, c));
		return tr;
	}
	function wrapTd(node) { const td = el("td"); td.appendChild(node); return td; }
	function fill(tbody, rows, empty, ncols) {
		tbody.replaceChildren(...rows);
		if (!rows.length) {
			const td = el("td", "muted", empty);
			td.colSpan = ncols;
			const tr = el("tr");
			tr.appendChild(td);
			tbody.appendChild(tr);
		}
	}
	async function getJSON(path) {
		const r = await fetch(path, {cache: "no-store"});
		if (!r.ok) throw new Error(path + ": HTTP " + r.status);
		return r.json();
	}
	function duration(s) {
		s = Math.max(0, Math.floor(s));
		const d = Math.floor(s / 86400), p = (n) => String(n).padStart(2, "0");
		return (d ? d + "d " : "") + p(Math.floor(s / 3600) % 24) + ":" +
			p(Math.floor(s / 60) % 60) + ":" + p(s % 60);
	}
	function badge(state) { return el("span", "badge b-" + state, state); }

	/* ---- charts ------------------------------------------------------- */

	/* Times and values of FIELD: the history, then the value now. */
	function points(field, now, counters) {
		const t = hist ? hist.t.slice() : [];
		const v = hist && hist.series[field] ? hist.series[field].slice()
			: t.map(() => null);
		if (counters && typeof counters[field] === "number" &&
		    (!t.length || now > t[t.length - 1])) {
			t.push(now);
			v.push(counters[field]);
		}
		return [t, v];
	}
	/* Per-second rates of a counter that only grows (null where it went
	 * back: a restart, or where a value is missing). */
	function rates(t, v) {
		const out = [null];
		for (let i = 1; i < t.length; i++) {
			const dt = t[i] - t[i - 1], dv = v[i] - v[i - 1];
			out.push(v[i] !== null && v[i - 1] !== null && dt > 0 &&
				dv >= 0 ? dv / dt : null);
		}
		return out;
	}
	function chartData(spec, now, counters) {
		let t = null;
		const cols = spec.series.map((s) => {
			const [ts, vs] = points(s.field, now, counters);
			t = ts;
			let v = spec.rate ? rates(ts, vs) : vs;
			if (spec.scale)
				v = v.map((x) => x === null ? null : x * spec.scale);
			return v;
		});
		return [t || [], ...cols];
	}
	function chartWidth(div) { return Math.max(300, div.clientWidth - 4); }
	function drawCharts(now, counters) {
		for (const spec of CHARTS) {
			const div = $(spec.id), data = chartData(spec, now, counters);
			const range = span(now);
			if (!plots[spec.id]) {
				plots[spec.id] = new uPlot({
					title: div.dataset.title,
					width: chartWidth(div), height: 200,
					scales: {x: {time: true, range: () => range}},
					series: [{}].concat(spec.series.map((s) => ({
						label: s.label, stroke: s.stroke, width: 1.5}))),
					axes: [{}, {size: 56}],
				}, data, div);
			} else {
				plots[spec.id].setData(data, false);
				plots[spec.id].setScale("x", {min: range[0], max: range[1]});
			}
			div.dataset.series = String(spec.series.length);
			div.dataset.points = String(data[0].length);
		}
	}
	window.addEventListener("resize", () => {
		for (const spec of CHARTS)
			if (plots[spec.id])
				plots[spec.id].setSize({width: chartWidth($(spec.id)), height: 200});
	});

	/* ---- farms -------------------------------------------------------- */

	/* The member's state strip: its history samples, then its state now,
	 * on a canvas over the charts' time axis (right: now). */
	function strip(name, nowChar, now) {
		const c = el("canvas", "strip");
		c.width = 360;
		c.height = 14;
		const [t0, t1] = span(now);
		const g = c.getContext("2d"), x = (t) => (t - t0) / (t1 - t0) * c.width;
		const t = hist ? hist.t : [], s = hist && hist.members[name] || "";
		const colors = getComputedStyle(document.body);
		const paint = (ch, b0, b1) => {
			const cls = STATE_CLASS[ch];
			if (!cls || b1 <= t0) return;
			g.fillStyle = colors.getPropertyValue("--" + cls).trim() || "#888";
			const a = Math.max(0, x(b0)), b = Math.min(c.width, x(b1));
			g.fillRect(a, 0, Math.max(2, b - a), c.height);
		};
		for (let i = 0; i < t.length && i < s.length; i++)
			paint(s[i], t[i], i + 1 < t.length ? t[i + 1] : now);
		if (t.length)
			paint(nowChar, Math.max(t[t.length - 1],
				now - 3 * (t1 - t0) / c.width), now);
		else
			paint(nowChar, t0, now);
		return c;
	}
	function memberState(m) { return m.drained ? "drained" : (m.check || m.state || "unknown"); }
	function stateChar(s) { return {up: "u", down: "d", drained: "r"}[s] || "?"; }
	function drawFarms(farms, now) {
		const box = $("farms"), blocks = [];
		for (const f of farms || []) {
			const b = el("div", "farm");
			const h = el("h3", null, f.farm);
			h.appendChild(el("span", "muted", " " + (f.balance || "") +
				", on-down " + (f.on_down || "") +
				(f.publishes || []).map((p) => ", " + p.proto + " " + p.address).join("")));
			b.appendChild(h);
			const tb = el("tbody");
			for (const m of f.members || []) {
				const st = memberState(m), name = f.farm + "/" + m.name;
				const tr = row([m.name, m.address, badge(st),
					m.in_map ? "in" : "out", strip(name, stateChar(st), now)]);
				tr.dataset.member = name;
				tr.dataset.state = st;
				tb.appendChild(tr);
			}
			const t = el("table"), thead = el("thead"), hr = el("tr");
			for (const x of ["member", "address", "state", "map", "history"])
				hr.appendChild(el("th", null, x));
			thead.appendChild(hr);
			t.appendChild(thead);
			t.appendChild(tb);
			b.appendChild(t);
			blocks.push(b);
		}
		box.replaceChildren(...blocks);
		if (!blocks.length)
			box.appendChild(el("p", "muted", farms ? "no farms" : "farms are not running"));
	}
	function drawVerifiers(vs) {
		const rows = (vs || []).map((v) => {
			const tr = row([v.name, v.method, v.target, badge(v.state || "unknown"),
				v.last === null || v.last === undefined ? "-" : v.last,
				typeof v.response_ms === "number" ? v.response_ms.toFixed(1) + " ms" : "-",
				el("code", null, v.history || "")]);
			tr.dataset.verifier = v.name;
			tr.dataset.state = v.state || "unknown";
			return tr;
		});
		fill($("verifiers").tBodies[0], rows, "no verifiers", 7);
	}

	/* ---- the rest ----------------------------------------------------- */

	function drawAlerts(alerts) {
		const list = (alerts || []).slice().sort((a, b) =>
			(b.firing - a.firing) || String(a.name).localeCompare(String(b.name)));
		const firing = list.filter((a) => a.firing).length;
		$("alerts-count").textContent = firing + " firing of " + list.length;
		fill($("alerts").tBodies[0], list.map((a) => {
			const tr = row([a.name, badge(a.firing ? "firing" : "quiet"),
				a.condition, typeof a.value === "number" ? +a.value.toPrecision(6) : "-",
				a.fired], a.firing ? "firing" : "");
			tr.dataset.alert = a.name;
			return tr;
		}), "no alerts", 5);
	}
	function drawTop(id, list) {
		// null: sluiced's first count of the table is still being read
		fill($(id).tBodies[0], (list || []).map((x) => row([x.name, x.sessions])),
			list === null ? "counting sessions\u2026" : "no active sessions", 2);
	}
	function drawStatus(d) {
		const s = d.status || {};
		$("version").textContent = "sluiced " + (s.version || "");
		$("uptime").textContent = typeof s.uptime_s === "number" ? "up " + duration(s.uptime_s) : "";
		$("generation").textContent = s.generation !== undefined
			? "policy generation " + s.generation + ", " + s.rules + " rules" : "";
		$("updated").textContent = "updated " + new Date(d.time * 1000).toLocaleTimeString();
	}

	async function refresh() {
		try {
			const d = await getJSON("/dashboard/data.json");
			const interval = d.interval_s || 10;
			if (!hist || d.time - histAt >= interval) {
				hist = await getJSON("/dashboard/history.json");
				histAt = d.time;
			}
			last = d;
			drawStatus(d);
			drawAlerts(d.alerts);
			drawCharts(d.time, d.counters);
			drawFarms(d.farms, d.time);
			drawVerifiers(d.verifiers);
			drawTop("top-users", d.top_users);
			drawTop("top-rules", d.top_rules);
			refreshes++;
			document.body.dataset.refreshes = String(refreshes);
			document.body.dataset.state = "ok";
			delete document.body.dataset.error;
		} catch (e) {
			document.body.dataset.state = "error";
			document.body.dataset.error = String(e);
			$("updated").textContent = "cannot reach sluiced: " + e.message +
				(last ? " (showing " + new Date(last.time * 1000).toLocaleTimeString() + ")" : "");
		}
		setTimeout(refresh, REFRESH_S * 1000);
	}

	$("refresh-s").textContent = String(REFRESH_S);
	refresh();
})();
