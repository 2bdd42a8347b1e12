/* Touchstream tracker: page views (incl. SPA), UTM/click ids, identify(), opt-in form capture.
   No dependencies. Load: <script async src="https://COLLECTOR/t.js" data-key="SITE_KEY"></script> */
(function (w, d) {
  "use strict";
  if (w.touchstream && w.touchstream.loaded) return;
  var script = d.currentScript || d.querySelector('script[src*="/t.js"]');
  var cfg = w.touchstreamConfig || {};
  var src = script ? script.src : "";
  var host = cfg.host || (src ? src.replace(/\/t\.js.*$/, "") : "");
  var key = cfg.key || (script && script.getAttribute("data-key")) || "";
  var captureAll = cfg.forms === "all" || (script && script.getAttribute("data-forms") === "all");
  var FLUSH_MS = cfg.flushMs || 1000, MAX_BATCH = 20;
  var UTM = ["source", "medium", "campaign", "content", "term"];
  var CLICKS = ["gclid", "li_fat_id", "fbclid", "msclkid"];
  var SECRET = /pass|card|cvv|cvc|ssn|iban|secret|token/i;
  var queue = [], timer = null;

  function uuid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }
  function store(kind) { try { return w[kind]; } catch (e) { return null; } }
  function get(kind, k) { var s = store(kind); try { return s ? s.getItem(k) : null; } catch (e) { return null; } }
  function put(kind, k, v) { var s = store(kind); try { if (s) s.setItem(k, v); } catch (e) { /* private mode */ } }
  function cookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }

  // Anonymous id: first-party cookie (2 years, Lax), mirrored in localStorage if cookies are cleared.
  var aid = cookie("ts_aid") || get("localStorage", "ts_aid") || uuid();
  d.cookie = "ts_aid=" + aid + "; Max-Age=63072000; Path=/; SameSite=Lax" +
    (location.protocol === "https:" ? "; Secure" : "");
  put("localStorage", "ts_aid", aid);
  var who = JSON.parse(get("localStorage", "ts_who") || "{}");

  // Campaign: captured on landing, kept for the session so later page views keep their source.
  var campaign = JSON.parse(get("sessionStorage", "ts_campaign") || "null");
  function landing() {
    var q = new URLSearchParams(location.search), utm = {}, clicks = {}, found = false;
    UTM.forEach(function (k) { var v = q.get("utm_" + k); if (v) { utm[k] = v; found = true; } });
    CLICKS.forEach(function (k) { var v = q.get(k); if (v) { clicks[k] = v; found = true; } });
    if (found) {
      campaign = { utm: utm, click_ids: clicks };
      put("sessionStorage", "ts_campaign", JSON.stringify(campaign));
    }
  }

  function event(type, extra) {
    var e = {
      event_id: uuid(), type: type, ts: Date.now(), anonymous_id: aid,
      context: { url: location.href, referrer: d.referrer || undefined, title: d.title || undefined,
                 locale: navigator.language || undefined },
      utm: campaign ? campaign.utm : {}, click_ids: campaign ? campaign.click_ids : {}
    };
    if (who.person_id) e.person_id = who.person_id;
    if (who.email) e.email = who.email;
    if (who.account_domain) e.account_domain = who.account_domain;
    for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) e[k] = extra[k];
    queue.push(e);
    if (queue.length >= MAX_BATCH) flush(); else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  }

  // text/plain keeps the request CORS-simple: no preflight, and sendBeacon accepts it cross-origin.
  function flush() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!queue.length) return;
    var body = JSON.stringify(queue.splice(0, queue.length));
    var url = host + "/v1/batch?k=" + encodeURIComponent(key);
    var blob = new Blob([body], { type: "text/plain" });
    if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) return;
    if (w.fetch) w.fetch(url, { method: "POST", body: body, keepalive: true, credentials: "include",
                                headers: { "Content-Type": "text/plain" } });
  }

  var lastUrl = null;
  function page() {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    landing();
    event("page_view", {});
  }

  function identify(arg) {
    var o = typeof arg === "string" ? { person_id: arg } : (arg || {});
    ["person_id", "email", "account_domain"].forEach(function (k) { if (o[k]) who[k] = String(o[k]); });
    put("localStorage", "ts_who", JSON.stringify(who));
    event("identify", { traits: o.traits || {} });
  }

  function formFields(form) {
    var props = {}, email = null, els = form.elements;
    for (var i = 0; i < els.length; i++) {
      var el = els[i], name = el.name || el.id;
      if (!name || el.type === "password" || el.type === "file" || SECRET.test(name)) continue;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
      if (el.type === "submit" || el.type === "button") continue;
      if (el.type === "email" || /^e-?mail$/i.test(name)) { email = el.value; continue; }
      if (el.value) props[name] = String(el.value).slice(0, 256);
    }
    return { email: email, props: props };
  }

  d.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || form.tagName !== "FORM") return;
    var marked = form.hasAttribute("data-touchstream-form");
    if (!marked && !captureAll) return;
    var f = formFields(form), extra = {
      form_id: form.getAttribute("data-touchstream-form") || form.id || form.getAttribute("name") || "form",
      form_kind: form.getAttribute("data-touchstream-form-kind") || "other", properties: f.props
    };
    if (f.email) { who.email = f.email.trim().toLowerCase(); put("localStorage", "ts_who", JSON.stringify(who)); }
    event("form_submit", extra);
    if (f.email) event("identify", { traits: {} });
    flush();  // the page may navigate away right after submit
  }, true);

  // SPA navigation: wrap pushState/replaceState and listen to popstate.
  ["pushState", "replaceState"].forEach(function (m) {
    var orig = history[m];
    history[m] = function () { var r = orig.apply(this, arguments); setTimeout(page, 0); return r; };
  });
  w.addEventListener("popstate", page);
  w.addEventListener("pagehide", flush);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") flush(); });

  var pending = Array.isArray(w.touchstream) ? w.touchstream : [];
  var api = w.touchstream = {
    loaded: true, identify: identify, page: page, flush: flush,
    track: function (type, extra) { event(type, extra || {}); },
    anonymousId: function () { return aid; }
  };
  page();
  // Calls made before the script loaded: window.touchstream = [["identify", "p-1"], ...].
  pending.forEach(function (call) { if (api[call[0]]) api[call[0]].apply(null, call.slice(1)); });
})(window, document);
