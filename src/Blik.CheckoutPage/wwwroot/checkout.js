/*
 * Reference BLIK checkout for merchant frontends. Plain JavaScript, no build step.
 *
 * Flow: your server creates the session (createSessionUrl) -> the shopper enters a 6-digit BLIK code ->
 * POST {apiBaseUrl}/api/checkout/sessions/{id}/pay with X-Client-Secret -> poll GET .../sessions/{id} with
 * backoff until completed (go to success_url), expired, or the attempt failed / was not confirmed before
 * retry_code_after (ask for a new code).
 *
 * The client secret only lets this browser pay and read this one session. It is kept in sessionStorage so that a
 * reload resumes the same session; it is never logged, and neither is the BLIK code.
 */
(function () {
  "use strict";

  var TEXT = {
    en: {
      shopName: "Demo shop",
      title: "Checkout",
      loadingTitle: "Preparing your payment…",
      startFailedTitle: "We couldn't start the payment",
      startFailedText: "The shop could not reach the payment service. Please try again.",
      tryAgain: "Try again",
      payTitle: "Pay for your order",
      orderLabel: "Order",
      totalLabel: "Total",
      methodLegend: "Payment method",
      methodHint: "Pay with a code from your bank app",
      codeLabel: "BLIK code",
      codeHint: "Open your bank app, generate a 6-digit BLIK code and enter it here.",
      payButton: "Pay",
      cancel: "Cancel and return to the shop",
      waitTitle: "Confirm the payment in your bank app",
      waitText: "We sent the payment to your bank. Open your bank app and confirm it there. Keep this page open.",
      timeLeft: "Time left to confirm:",
      doneTitle: "Payment confirmed",
      doneText: "Thank you! Taking you back to the shop…",
      doneLink: "Continue",
      expiredTitle: "This payment has expired",
      expiredText: "The time to pay for this order has run out. No money was taken. Start again to pay.",
      expiredUnsureText: "The time to pay for this order has run out. If you confirmed a payment in your bank app, the shop will be told and will contact you. Otherwise start again to pay.",
      startAgain: "Start again",
      paidTitle: "Thank you for your order",
      paidText: "Your BLIK payment was received. (This is the demo shop's success page.)",
      newOrder: "Place another order",
      // messages
      codeIncomplete: "Enter all 6 digits of the BLIK code.",
      codeNotAccepted: "The BLIK code must be 6 digits. Check it and try again.",
      sending: "Sending the code to your bank…",
      reconnecting: "Connection lost. Reconnecting… Keep this page open; your payment is not affected.",
      reconnected: "Connected again.",
      stillChecking: "Your bank is taking longer than usual. If your bank app asks, confirm the payment.",
      tooManyAttempts: "Too many codes were entered for this payment. You can try again in {seconds} s.",
      tooManyAttemptsOver: "You can enter a new BLIK code now.",
      gatewayUnavailable: "The payment service is temporarily unavailable. Please try again in {seconds} s.",
      gatewayUnavailableOver: "You can try again now.",
      networkError: "We couldn't reach the payment service. Check your connection and try again.",
      unexpected: "Something went wrong. Please try again.",
      alreadyInProgress: "A payment with your previous code is still waiting for confirmation in your bank app.",
      enterNewCode: "Enter a new BLIK code to try again.",
      reasons: {
        code_invalid: "That BLIK code isn't valid. Generate a new code in your bank app and enter it here.",
        code_expired: "That BLIK code has expired. Generate a new code in your bank app and enter it here.",
        code_already_used: "That BLIK code has already been used. Generate a new code in your bank app.",
        code_cancelled: "That BLIK code was cancelled. Generate a new code in your bank app.",
        customer_declined: "The payment was declined in your bank app. To pay, enter a new BLIK code.",
        insufficient_funds: "Your bank declined the payment: not enough funds. You can try again with a new code.",
        limit_exceeded: "Your bank declined the payment: a limit was exceeded. You can try again with a new code.",
        issuer_declined: "Your bank declined the payment. You can try again with a new code.",
        customer_timeout: "The payment wasn't confirmed in your bank app in time. Enter a new BLIK code to try again.",
        not_confirmed: "We didn't hear back in time. Your bank may not have accepted the code, or the payment wasn't confirmed in your bank app; we can't tell which. Check your bank app and enter a new BLIK code to try again.",
        refused: "The code was not accepted, and we don't know why. Check your bank app and enter a new BLIK code to try again."
      }
    },
    pl: {
      shopName: "Sklep demonstracyjny",
      title: "Płatność",
      loadingTitle: "Przygotowujemy płatność…",
      startFailedTitle: "Nie udało się rozpocząć płatności",
      startFailedText: "Sklep nie mógł połączyć się z serwisem płatności. Spróbuj ponownie.",
      tryAgain: "Spróbuj ponownie",
      payTitle: "Zapłać za zamówienie",
      orderLabel: "Zamówienie",
      totalLabel: "Do zapłaty",
      methodLegend: "Metoda płatności",
      methodHint: "Zapłać kodem z aplikacji banku",
      codeLabel: "Kod BLIK",
      codeHint: "Otwórz aplikację banku, wygeneruj 6-cyfrowy kod BLIK i wpisz go tutaj.",
      payButton: "Zapłać",
      cancel: "Anuluj i wróć do sklepu",
      waitTitle: "Potwierdź płatność w aplikacji banku",
      waitText: "Wysłaliśmy płatność do Twojego banku. Otwórz aplikację banku i potwierdź ją. Nie zamykaj tej strony.",
      timeLeft: "Czas na potwierdzenie:",
      doneTitle: "Płatność potwierdzona",
      doneText: "Dziękujemy! Wracasz do sklepu…",
      doneLink: "Dalej",
      expiredTitle: "Czas na płatność minął",
      expiredText: "Czas na opłacenie tego zamówienia się skończył. Nie pobraliśmy pieniędzy. Zacznij od nowa, aby zapłacić.",
      expiredUnsureText: "Czas na opłacenie tego zamówienia się skończył. Jeśli potwierdziłeś płatność w aplikacji banku, sklep się o tym dowie i skontaktuje się z Tobą. W przeciwnym razie zacznij od nowa, aby zapłacić.",
      startAgain: "Zacznij od nowa",
      paidTitle: "Dziękujemy za zamówienie",
      paidText: "Otrzymaliśmy płatność BLIK. (To strona sukcesu sklepu demonstracyjnego.)",
      newOrder: "Złóż kolejne zamówienie",
      codeIncomplete: "Wpisz wszystkie 6 cyfr kodu BLIK.",
      codeNotAccepted: "Kod BLIK musi mieć 6 cyfr. Sprawdź go i spróbuj ponownie.",
      sending: "Wysyłamy kod do Twojego banku…",
      reconnecting: "Utracono połączenie. Łączymy ponownie… Nie zamykaj tej strony; to nie wpływa na płatność.",
      reconnected: "Połączenie przywrócone.",
      stillChecking: "Bank odpowiada dłużej niż zwykle. Jeśli aplikacja banku o to poprosi, potwierdź płatność.",
      tooManyAttempts: "Wpisano zbyt wiele kodów dla tej płatności. Możesz spróbować ponownie za {seconds} s.",
      tooManyAttemptsOver: "Możesz teraz wpisać nowy kod BLIK.",
      gatewayUnavailable: "Serwis płatności jest chwilowo niedostępny. Spróbuj ponownie za {seconds} s.",
      gatewayUnavailableOver: "Możesz teraz spróbować ponownie.",
      networkError: "Nie udało się połączyć z serwisem płatności. Sprawdź połączenie i spróbuj ponownie.",
      unexpected: "Coś poszło nie tak. Spróbuj ponownie.",
      alreadyInProgress: "Płatność poprzednim kodem wciąż czeka na potwierdzenie w aplikacji banku.",
      enterNewCode: "Wpisz nowy kod BLIK, aby spróbować ponownie.",
      reasons: {
        code_invalid: "Ten kod BLIK jest nieprawidłowy. Wygeneruj nowy kod w aplikacji banku i wpisz go tutaj.",
        code_expired: "Ten kod BLIK wygasł. Wygeneruj nowy kod w aplikacji banku i wpisz go tutaj.",
        code_already_used: "Ten kod BLIK został już użyty. Wygeneruj nowy kod w aplikacji banku.",
        code_cancelled: "Ten kod BLIK został anulowany. Wygeneruj nowy kod w aplikacji banku.",
        customer_declined: "Płatność została odrzucona w aplikacji banku. Aby zapłacić, wpisz nowy kod BLIK.",
        insufficient_funds: "Bank odrzucił płatność: brak wystarczających środków. Możesz spróbować ponownie z nowym kodem.",
        limit_exceeded: "Bank odrzucił płatność: przekroczono limit. Możesz spróbować ponownie z nowym kodem.",
        issuer_declined: "Bank odrzucił płatność. Możesz spróbować ponownie z nowym kodem.",
        customer_timeout: "Płatność nie została potwierdzona w aplikacji banku na czas. Wpisz nowy kod BLIK, aby spróbować ponownie.",
        not_confirmed: "Nie otrzymaliśmy odpowiedzi na czas. Bank mógł nie przyjąć kodu albo płatność nie została potwierdzona w aplikacji banku; nie wiemy, co się stało. Sprawdź aplikację banku i wpisz nowy kod BLIK, aby spróbować ponownie.",
        refused: "Kod nie został przyjęty, a nie wiemy dlaczego. Sprawdź aplikację banku i wpisz nowy kod BLIK, aby spróbować ponownie."
      }
    }
  };

  var STORAGE_KEY = "blik-checkout-session";
  var root = document.getElementById("blik-checkout");
  var config = readConfig();
  var locale = chooseLocale();
  var t = TEXT[locale];

  var els = {
    announcer: byId("announcer"),
    orderId: byId("order-id"),
    orderTotal: byId("order-total"),
    payAmount: byId("pay-amount"),
    waitTotal: byId("wait-total"),
    form: byId("pay-form"),
    code: byId("blik-code"),
    codeMessage: byId("blik-code-message"),
    payButton: byId("pay-button"),
    cancelLink: byId("cancel-link"),
    countdown: byId("countdown"),
    waitStatus: byId("wait-status"),
    doneLink: byId("done-link"),
    expiredText: byId("expired-text")
  };

  // What this page knows about the session and the current code attempt.
  var session = null;        // { id, clientSecret, amount, currency, orderId, successUrl, cancelUrl }
  var clockOffsetMs = 0;     // server time - this device's time, estimated when a code is accepted
  var deadlineMs = null;     // device time at which to ask for a new code if nothing happened (retry_code_after)
  var attempt = "none";      // none | waiting | deadline (one last look) | background (asked for a new code, still watching the old one)
  var lastReasonCode = null; // last_error.code already shown
  var pollTimer = null, pollDelay = config.pollIntervalMs, pollGeneration = 0, offline = false;
  var countdownTimer = null, blockedUntil = 0, blockTimer = null, submitting = false;

  // ---------------------------------------------------------------- configuration and text

  function byId(id) { return document.getElementById(id); }

  function readConfig() {
    var given = window.blikCheckoutConfig || {};
    var data = root.dataset;
    function pick(name, fallback) {
      if (given[name] !== undefined && given[name] !== null) { return given[name]; }
      var attr = data[name];
      return attr !== undefined && attr !== "" ? attr : fallback;
    }
    return {
      apiBaseUrl: String(pick("apiBaseUrl", "")).replace(/\/+$/, ""),
      createSessionUrl: String(pick("createSessionUrl", "/demo/checkout")),
      locale: pick("locale", null),
      pollIntervalMs: Number(pick("pollIntervalMs", 1000)),
      maxPollIntervalMs: Number(pick("maxPollIntervalMs", 5000)),
      redirectDelayMs: Number(pick("redirectDelayMs", 1200)),
      requestTimeoutMs: Number(pick("requestTimeoutMs", 15000))
    };
  }

  function chooseLocale() {
    var wanted = new URLSearchParams(window.location.search).get("locale") || config.locale
      || (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return String(wanted).toLowerCase().indexOf("pl") === 0 ? "pl" : "en";
  }

  function applyText() {
    document.documentElement.lang = locale;
    document.title = t.title + " – BLIK";
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) {
      var value = t[nodes[i].getAttribute("data-i18n")];
      if (typeof value === "string") { nodes[i].textContent = value; }
    }
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(locale === "pl" ? "pl-PL" : "en-GB", { style: "currency", currency: (currency || "pln").toUpperCase() }).format(amount / 100);
    } catch (e) {
      return (amount / 100).toFixed(2) + " " + String(currency || "").toUpperCase();
    }
  }

  /** Plain words for a failed attempt, the page's own for each reason; a reason it does not know says so. */
  function reasonText(error) {
    if (!error) { return t.reasons.not_confirmed; }
    return t.reasons[error.code] || t.reasons.refused;
  }

  // ---------------------------------------------------------------- screens and messages

  function show(name, focusHeading) {
    var screens = document.querySelectorAll("[data-screen]");
    for (var i = 0; i < screens.length; i++) {
      screens[i].hidden = screens[i].getAttribute("data-screen") !== name;
    }
    root.setAttribute("data-state", name);
    if (focusHeading !== false) {
      var heading = document.querySelector('[data-screen="' + name + '"] h2');
      if (heading) { heading.focus(); }
    }
  }

  function announce(text) {
    els.announcer.textContent = "";
    // A separate task makes screen readers notice a repeat of the same text.
    window.setTimeout(function () { els.announcer.textContent = text; }, 50);
  }

  function setCodeMessage(text, kind) {
    els.codeMessage.textContent = text || "";
    els.codeMessage.setAttribute("data-kind", kind || "");
    els.code.setAttribute("aria-invalid", kind === "error" && text ? "true" : "false");
  }

  function showPay(message, kind) {
    show("pay", false);
    setCodeMessage(message, kind);
    els.code.focus();
    updatePayButton();
  }

  // ---------------------------------------------------------------- the code field

  function digitsOf(text) { return String(text || "").replace(/\D+/g, ""); }

  function updatePayButton() {
    var ready = els.code.value.length === 6 && !submitting && Date.now() >= blockedUntil;
    els.payButton.disabled = !ready;
  }

  els.code.addEventListener("input", function () {
    var clean = digitsOf(els.code.value).slice(0, 6);
    if (clean !== els.code.value) { els.code.value = clean; }
    if (els.codeMessage.getAttribute("data-kind") === "error" && clean.length > 0) { setCodeMessage(""); }
    updatePayButton();
  });

  // "123 456", "123-456" or a whole SMS: keep the digits, at most six.
  els.code.addEventListener("paste", function (event) {
    var pasted = event.clipboardData ? event.clipboardData.getData("text") : "";
    if (!pasted) { return; }
    event.preventDefault();
    var value = els.code.value, start = els.code.selectionStart || 0, end = els.code.selectionEnd || 0;
    var clean = digitsOf(value.slice(0, start) + digitsOf(pasted) + value.slice(end)).slice(0, 6);
    els.code.value = clean;
    els.code.dispatchEvent(new Event("input", { bubbles: true }));
  });

  els.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = els.code.value;
    if (!/^[0-9]{6}$/.test(code)) {
      setCodeMessage(t.codeIncomplete, "error");
      els.code.focus();
      return;
    }
    if (submitting || Date.now() < blockedUntil) { return; }
    pay(code);
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest('[data-action="restart"]') : null;
    if (target) { restart(); }
  });

  // ---------------------------------------------------------------- HTTP

  function request(method, url, options) {
    options = options || {};
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, config.requestTimeoutMs) : null;
    var headers = { "Accept": "application/json" };
    if (options.secret) { headers["X-Client-Secret"] = options.secret; }
    if (options.body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(url, {
      method: method,
      headers: headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      credentials: options.credentials || "omit",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        return { status: response.status, ok: response.ok, body: json, headers: response.headers };
      });
    }).finally(function () { if (timer) { window.clearTimeout(timer); } });
  }

  function apiUrl(path) { return config.apiBaseUrl + path; }
  function sessionPath(id) { return "/api/checkout/sessions/" + encodeURIComponent(id); }

  /** Seconds to wait from a problem's retry_after, else the Retry-After header (same-origin only), else a default. */
  function retryAfterSeconds(response, fallback) {
    var fromBody = response.body && Number(response.body.retry_after);
    if (fromBody > 0) { return Math.ceil(fromBody); }
    var header = Number(response.headers && response.headers.get("Retry-After"));
    return header > 0 ? Math.ceil(header) : fallback;
  }

  // ---------------------------------------------------------------- session lifecycle

  function save() {
    try { window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session)); } catch (e) { /* private mode */ }
  }

  function forget() {
    try { window.sessionStorage.removeItem(STORAGE_KEY); } catch (e) { /* private mode */ }
  }

  function load() {
    try { return JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null"); } catch (e) { return null; }
  }

  function fromView(view) {
    return {
      id: view.id,
      clientSecret: view.client_secret || (session && session.clientSecret),
      amount: view.amount,
      currency: view.currency,
      orderId: view.order_id || view.id,
      successUrl: view.success_url,
      cancelUrl: view.cancel_url || null
    };
  }

  function showSession() {
    var total = money(session.amount, session.currency);
    els.orderId.textContent = session.orderId;
    els.orderTotal.textContent = total;
    els.payAmount.textContent = total;
    els.waitTotal.textContent = total;
    root.setAttribute("data-session-id", session.id);
    if (session.cancelUrl) { els.cancelLink.href = session.cancelUrl; }
  }

  function start() {
    applyText();
    var params = new URLSearchParams(window.location.search);
    if (params.get("paid") === "1") {
      forget();
      show("paid");
      return;
    }

    var stored = load();
    if (stored && stored.id && stored.clientSecret) {
      session = stored;
      showSession();
      resume();
      return;
    }

    createSession();
  }

  function restart() {
    stopPolling();
    stopCountdown();
    forget();
    session = null;
    attempt = "none";
    if (new URLSearchParams(window.location.search).get("paid") === "1") {
      window.location.assign(window.location.pathname + (locale ? "?locale=" + locale : ""));
      return;
    }
    createSession();
  }

  function createSession() {
    show("loading", false);
    // Your server creates the session with its function key and hands the browser the response.
    request("POST", config.createSessionUrl, { credentials: "same-origin" }).then(function (response) {
      if (response.status !== 201 && response.status !== 200 || !response.body || !response.body.id || !response.body.client_secret) {
        throw new Error("create answered " + response.status);
      }
      session = fromView(response.body);
      save();
      showSession();
      els.code.value = "";
      showPay("");
    }).catch(function () {
      show("start-failed");
    });
  }

  /** After a reload: ask the service where the session is. */
  function resume() {
    show("loading", false);
    request("GET", apiUrl(sessionPath(session.id)), { secret: session.clientSecret }).then(function (response) {
      if (response.status === 200 && response.body) {
        var view = response.body;
        if (view.status === "pending") {
          clockOffsetMs = serverClockOffset(response);
          enterWaiting(view);
        } else if (view.status === "open") {
          attempt = "none";
          showPay(view.last_error && view.code_submitted_at ? reasonText(view.last_error) : "", view.last_error ? "error" : "");
        } else {
          handleView(view);
        }
      } else if (response.status === 401 || response.status === 404) {
        forget();
        createSession();
      } else {
        showPay(t.networkError, "error");
      }
    }).catch(function () {
      showPay(t.networkError, "error");
    });
  }

  function serverClockOffset(response) {
    var date = response.headers && response.headers.get("Date"); // readable same-origin only
    var parsed = date ? Date.parse(date) : NaN;
    return isNaN(parsed) ? 0 : parsed - Date.now();
  }

  // ---------------------------------------------------------------- paying

  function pay(code) {
    submitting = true;
    updatePayButton();
    setCodeMessage(t.sending, "info");
    var sentAt = Date.now();
    request("POST", apiUrl(sessionPath(session.id) + "/pay"), { secret: session.clientSecret, body: { blik_code: code } })
      .then(function (response) {
        submitting = false;
        els.code.value = "";
        var body = response.body || {};
        if (response.status === 202) {
          // code_submitted_at is the server's "now": use it to count down on this device's clock.
          if (body.code_submitted_at) { clockOffsetMs = body.code_submitted_at * 1000 - sentAt; }
          lastReasonCode = null;
          if (body.status === "pending" || body.status === "open") {
            enterWaiting(body);
          } else {
            handleView(body);
          }
          return;
        }
        handlePayProblem(response, body);
      })
      .catch(function () {
        // The request may or may not have arrived: keep an eye on the session while the shopper retries.
        submitting = false;
        showPay(t.networkError, "error");
        watchInBackground();
      });
  }

  function handlePayProblem(response, body) {
    var code = body.code;
    if (response.status === 502 && code === "gateway-refused") {
      var gatewayError = body.gateway_error || {};
      var reason = gatewayError.code || gatewayError.decline_code || "refused";
      showPay(reasonText({ code: reason, message: body.detail }), "error");
      announce(els.codeMessage.textContent);
      return;
    }
    if (response.status === 429) {
      blockFor(retryAfterSeconds(response, 60), t.tooManyAttempts, t.tooManyAttemptsOver);
      return;
    }
    if (response.status === 503) {
      // The gateway may still have the code: watch the session while the shopper waits to retry.
      blockFor(retryAfterSeconds(response, 5), t.gatewayUnavailable, t.gatewayUnavailableOver);
      watchInBackground();
      return;
    }
    if (response.status === 409 && code === "session-not-payable") {
      var status = body.session_status;
      if (status === "pending") {
        setCodeMessage("");
        enterWaiting(null, t.alreadyInProgress);
      } else if (status === "completed") {
        complete();
      } else {
        expire();
      }
      return;
    }
    if (response.status === 400) {
      showPay(t.codeNotAccepted, "error");
      return;
    }
    if (response.status === 401 || response.status === 404) {
      // The session is gone or this browser's secret no longer fits it: only a new session helps.
      expire();
      return;
    }
    showPay(t.unexpected, "error");
    watchInBackground();
  }

  /** 429 / 503: say how long to wait, keep the button disabled until then, then say it is fine again. */
  function blockFor(seconds, template, overText) {
    blockedUntil = Date.now() + seconds * 1000;
    showPay(format(template, { seconds: seconds }), "error");
    announce(els.codeMessage.textContent);
    window.clearInterval(blockTimer);
    blockTimer = window.setInterval(function () {
      var left = Math.ceil((blockedUntil - Date.now()) / 1000);
      if (left > 0) {
        els.codeMessage.textContent = format(template, { seconds: left });
        return;
      }
      window.clearInterval(blockTimer);
      setCodeMessage(overText, "info");
      updatePayButton();
    }, 1000);
  }

  // ---------------------------------------------------------------- waiting for the bank app

  function enterWaiting(view, note) {
    attempt = "waiting";
    if (view) { setDeadline(view); }
    els.waitStatus.textContent = note || "";
    show("wait");
    startCountdown();
    startPolling();
  }

  function setDeadline(view) {
    if (view.retry_code_after) {
      deadlineMs = view.retry_code_after * 1000 - clockOffsetMs;
    } else if (deadlineMs === null) {
      deadlineMs = Date.now() + 90000;
    }
  }

  function startCountdown() {
    stopCountdown();
    tick();
    countdownTimer = window.setInterval(tick, 250);
  }

  function stopCountdown() {
    if (countdownTimer) { window.clearInterval(countdownTimer); countdownTimer = null; }
  }

  function tick() {
    var left = Math.max(0, Math.ceil((deadlineMs - Date.now()) / 1000));
    var text = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
    if (els.countdown.textContent !== text) { els.countdown.textContent = text; }
    if (left === 0 && attempt === "waiting") {
      // No answer within the confirmation window: look once more (the service re-reads the gateway just before this
      // deadline, so a payment whose webhook was lost shows here), then ask for a new code, but keep watching the old
      // attempt (a late confirmation still completes the order).
      attempt = "deadline";
      stopCountdown();
      lastLook();
    }
  }

  function lastLook() {
    var generation = pollGeneration;
    request("GET", apiUrl(sessionPath(session.id)), { secret: session.clientSecret }).then(function (response) {
      if (generation !== pollGeneration || attempt !== "deadline") { return; }
      var view = response.status === 200 ? response.body : null;
      if (view && (view.status === "completed" || view.status === "expired")) {
        handleView(view);
        return;
      }
      askForNewCode(view && view.last_error && view.last_error.code !== "gateway_unavailable" ? view.last_error : { code: "not_confirmed" });
    }).catch(function () {
      if (generation === pollGeneration && attempt === "deadline") { askForNewCode({ code: "not_confirmed" }); }
    });
  }

  function askForNewCode(error) {
    stopCountdown();
    attempt = "background";
    lastReasonCode = error ? error.code : null;
    showPay(reasonText(error), "error");
    announce(els.codeMessage.textContent);
  }

  function watchInBackground() {
    if (attempt === "waiting") { return; }
    attempt = "background";
    startPolling();
  }

  // ---------------------------------------------------------------- polling

  function startPolling() {
    stopPolling();
    pollDelay = config.pollIntervalMs;
    schedulePoll(pollDelay);
  }

  function stopPolling() {
    pollGeneration++;
    if (pollTimer) { window.clearTimeout(pollTimer); pollTimer = null; }
  }

  function schedulePoll(delay) {
    var generation = pollGeneration;
    if (pollTimer) { window.clearTimeout(pollTimer); }
    pollTimer = window.setTimeout(function () { pollOnce(generation); }, delay);
  }

  function nextDelay() {
    pollDelay = Math.min(config.maxPollIntervalMs, Math.round(pollDelay * 1.5));
    return pollDelay;
  }

  function pollOnce(generation) {
    if (generation !== pollGeneration || attempt === "none" || !session) { return; }
    request("GET", apiUrl(sessionPath(session.id)), { secret: session.clientSecret }).then(function (response) {
      if (generation !== pollGeneration) { return; }
      if (offline) {
        offline = false;
        els.waitStatus.textContent = t.reconnected;
      }
      if (response.status === 200 && response.body) {
        if (handleView(response.body)) { schedulePoll(nextDelay()); }
        return;
      }
      if (response.status === 401 || response.status === 404) {
        stopPolling();
        forget();
        expire();
        return;
      }
      // 503 (storage or gateway busy) or anything else: back off and ask again.
      schedulePoll(Math.max(nextDelay(), retryAfterSeconds(response, 0) * 1000));
    }).catch(function () {
      if (generation !== pollGeneration) { return; }
      if (!offline) {
        offline = true;
        if (attempt === "waiting") { els.waitStatus.textContent = t.reconnecting; }
      }
      schedulePoll(nextDelay());
    });
  }

  // Back online or back to the tab: look now instead of waiting for the next backoff step.
  window.addEventListener("online", function () {
    if (attempt !== "none") { pollDelay = config.pollIntervalMs; schedulePoll(0); }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && attempt !== "none") { schedulePoll(0); }
  });

  /** Applies a session view from a poll. Returns true while it is worth polling again. */
  function handleView(view) {
    if (view.status === "completed") {
      complete(view);
      return false;
    }
    if (view.status === "expired") {
      expire(view);
      return false;
    }
    if (attempt === "deadline") {
      return true; // the last look decides; keep polling meanwhile
    }
    if (attempt === "waiting") {
      setDeadline(view);
      if (view.status === "open" && view.last_error && view.last_error.code !== "gateway_unavailable") {
        askForNewCode(view.last_error); // declined or refused: the attempt is over
        return false;
      }
      if (view.last_error && view.last_error.code === "gateway_unavailable" && !offline) {
        els.waitStatus.textContent = t.stillChecking;
      }
      return true;
    }
    if (attempt === "background") {
      // Already asking for a new code; if the old attempt's real reason arrives, say it instead.
      if (view.status === "open") {
        if (view.last_error && view.last_error.code !== "gateway_unavailable" && view.last_error.code !== lastReasonCode) {
          lastReasonCode = view.last_error.code;
          setCodeMessage(reasonText(view.last_error), "error");
          announce(els.codeMessage.textContent);
        }
        return !view.last_error || view.last_error.code === "gateway_unavailable";
      }
      return true;
    }
    return false;
  }

  function complete(view) {
    stopPolling();
    stopCountdown();
    attempt = "none";
    var target = (view && view.success_url) || session.successUrl;
    forget();
    els.doneLink.href = target;
    show("done");
    window.setTimeout(function () { window.location.assign(target); }, config.redirectDelayMs);
  }

  /**
   * The session is over. "No money was taken" only when the gateway itself said the session expired (expired_by
   * "gateway"); when this service ended it on its own, or the page cannot tell (a 401/404, a refused pay), a payment
   * confirmed in the bank app may still surface, so the text says what happens then.
   */
  function expire(view) {
    stopPolling();
    stopCountdown();
    attempt = "none";
    forget();
    var key = view && view.expired_by === "gateway" ? "expiredText" : "expiredUnsureText";
    els.expiredText.setAttribute("data-i18n", key);
    els.expiredText.textContent = t[key];
    show("expired");
  }

  start();
})();
