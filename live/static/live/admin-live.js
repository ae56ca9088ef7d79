// The admin's live notices (README "Live updates"): a signed-in staff member's new orders, low stock and in-app
// notifications, as small toasts, from GET /api/v1/stream. Loaded on every admin page (UNFOLD["SCRIPTS"]); it does
// nothing on the login page, and nothing at all when no stream is served here (it asks first, so a server without
// the ASGI stream costs the page no failed request). A stream that ends is reopened with a new ticket, from the
// last event seen, after a growing pause.
(function () {
  "use strict";
  var script = document.currentScript;
  var params = new URL(script ? script.src : location.href, location.href).searchParams;
  var ticketUrl = params.get("ticket"), probeUrl = params.get("probe");
  var adminRoot = ticketUrl ? ticketUrl.replace(/live\/ticket\/$/, "") : "/admin/";
  var lastId = "", pause = 3000, source = null, box = null, pending = false, stopped = false;

  function csrfToken() {
    var field = document.querySelector("#logout-form [name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function toast(text, href) {
    if (!box) {
      box = document.createElement("div");
      box.id = "live-notices";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:1000;display:flex;flex-direction:column;" +
        "gap:8px;max-width:360px;font-size:14px";
      document.body.appendChild(box);
    }
    var note = document.createElement(href ? "a" : "div");
    if (href) note.href = href;
    note.className = "live-notice";
    note.textContent = text;
    note.style.cssText = "display:block;padding:10px 14px;border-radius:6px;background:#1f2937;color:#fff;" +
      "box-shadow:0 4px 12px rgba(0,0,0,.25);text-decoration:none";
    box.appendChild(note);
    while (box.children.length > 4) box.removeChild(box.firstChild);
    setTimeout(function () { if (note.parentNode) note.parentNode.removeChild(note); }, 12000);
  }

  function data(event) {
    if (event.lastEventId) lastId = event.lastEventId;
    try { return JSON.parse(event.data) || {}; } catch (error) { return {}; }
  }

  function reopen() {
    document.documentElement.dataset.liveStream = "closed";
    if (source) { source.close(); source = null; }
    if (pending || stopped) return;
    pending = true;
    setTimeout(function () { pending = false; open(); }, pause);
    pause = Math.min(pause * 2, 60000);
  }

  function open() {
    fetch(ticketUrl, {method: "POST", credentials: "same-origin",
                      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}})
      .then(function (response) {
        // signed out (the admin's login page), or no longer allowed in the admin: no more notices on this page
        if (response.redirected || response.status === 403) stopped = true;
        if (response.status !== 201) throw new Error("no ticket");
        return response.json();
      })
      .then(function (answer) {
        var url = answer.url + (lastId ? "&last_event_id=" + encodeURIComponent(lastId) : "");
        source = new EventSource(url);
        source.onopen = function () {
          pause = 3000;
          document.documentElement.dataset.liveStream = "open";  // tools/browser_check.py waits for it
        };
        source.onerror = reopen;  // a ticket serves one opening: EventSource's own retry would reuse it
        source.addEventListener("closed", reopen);
        source.addEventListener("order.created", function (event) {
          var order = data(event);
          toast("New order #" + order.number + (order.store ? " in " + order.store : "") +
                (order.total ? " (" + order.total + " " + (order.currency || "") + ")" : ""),
                order.id ? adminRoot + "orders/order/" + order.id + "/change/" : null);
        });
        source.addEventListener("inventory.low_stock", function (event) {
          var stock = data(event);
          toast("Low stock: " + (stock.name || stock.sku) + " (" + stock.available + " left)",
                stock.product_id ? adminRoot + "catalog/product/" + stock.product_id + "/change/" : null);
        });
        source.addEventListener("notification", function (event) {
          var note = data(event);
          // the events above are shown already; other notifications (exports, plans, billing) by their title
          if (note.event_type !== "order.created" && note.event_type !== "inventory.low_stock" && note.title) {
            toast(note.title);
          }
        });
        ["order.paid", "order.status_changed", "order.cancelled", "order.refunded", "payment.failed",
         "resync"].forEach(function (kind) { source.addEventListener(kind, data); });
      })
      .catch(reopen);  // the server away for a moment: again later, unless signed out
  }

  function start() {
    if (!ticketUrl || !probeUrl || !window.EventSource || !window.fetch || !csrfToken()) return;  // login page
    fetch(probeUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (answer) { if (answer.served) open(); })
      .catch(function () { /* no stream here */ });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
