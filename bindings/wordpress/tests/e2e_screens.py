"""Settings > Mailport used as an administrator would, in Chromium (run by e2e_web.py on the
preloaded php-fpm set-up, where the library loads in web requests): the settings saved from the
form (the password stored encrypted and never shown back), the connection check run and its
table shown with the configured port working, a test email sent that arrives at the capture
server, and that email found in the Email log with its server reply. A screenshot of each step.
Only MAILPORT_CA_FILE and MAILPORT_TIMEOUT stay constants (the screen has no field for them).
"""

from e2e import messages, parse_message


def fill(browser, values):
    """Set form fields by id (text inputs, selects, checkboxes) in one script."""
    browser.driver.execute_script("""
        for (const [id, value] of Object.entries(arguments[0])) {
            const el = document.getElementById(id);
            if (!el) { throw new Error('no field #' + id); }
            if (el.type === 'checkbox') { el.checked = !!value; } else { el.value = value; }
        }
    """, values)


def submit(browser, button_id):
    browser.driver.execute_script(
        "const b = document.getElementById(arguments[0]); b.form.requestSubmit(b);", button_id)


def save_settings(browser, page, values):
    """Settings > Mailport: these fields changed and the form saved."""
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-settings-form")
    fill(browser, values)
    submit(browser, "mailport-save")
    browser.wait_for("#setting-error-settings_updated")


def send_test_email(browser, page, to):
    """The Send a test email tab, sent to `to`; the result notice is on the page."""
    browser.go(page + "&tab=test")
    browser.wait_for("#mailport-test-form")
    fill(browser, {"mailport-test-to": to})
    submit(browser, "mailport-test-send")
    browser.wait_for("#mailport-result")


def run_screens(run, browser, cli_step, admin):
    """run: e2e_web's Run (site, wp, server, checks, ok); admin: (user, password)."""
    ok = run.ok
    site, server = run.site, run.server
    url = site.url
    page = url + "/wp-admin/options-general.php?page=mailport"
    name = "screens"
    browser.log_in(url, *admin)

    # --- Settings: saved from the form -----------------------------------------------------------
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-settings-form")
    locked = browser.driver.execute_script(
        "return document.getElementById('mailport-host').disabled")
    ok(locked is False, f"{name}: the host field is editable (no MAILPORT_HOST constant)", locked)
    fill(browser, {
        "mailport-host": "localhost",
        "mailport-port": str(server["port"]),
        "mailport-security": "starttls",
        "mailport-user": run.smtp_user,
        "mailport-password": run.smtp_password,
        "mailport-from_email": "site@example.com",
        "mailport-from_name": "Screens Site",
        "mailport-delivery": "direct-then-queue",
    })
    browser.screenshot("screens-settings-filled")
    submit(browser, "mailport-save")
    browser.wait_for("#setting-error-settings_updated")
    shot = browser.screenshot("screens-settings-saved")
    values = browser.driver.execute_script("""
        const v = id => document.getElementById(id).value;
        return {host: v('mailport-host'), port: v('mailport-port'), security: v('mailport-security'),
                user: v('mailport-user'), password: v('mailport-password'),
                saved_note: document.body.innerText.includes('A password is saved (encrypted)')};
    """)
    ok(values == {"host": "localhost", "port": str(server["port"]), "security": "starttls",
                  "user": run.smtp_user, "password": "", "saved_note": True},
       f"{name}: Settings saved; the password field stays empty and says a password is saved",
       {"values": values, "screenshot": shot})
    stored = (cli_step(run.wp, "option", {"name": "mailport_settings"}) or {}).get("value") or {}
    ok(isinstance(stored, dict) and str(stored.get("password", "")).startswith("v1:")
       and run.smtp_password not in str(stored.get("password", ""))[3:],
       f"{name}: the password is stored encrypted (v1:…), never in plain text",
       {k: (v if k != "password" else str(v)[:6] + "…") for k, v in (stored or {}).items()})

    plain = (cli_step(run.wp, "setting", {"key": "password"}) or {}).get("value")
    ok(plain == run.smtp_password, f"{name}: the saved password decrypts to what was entered", plain == run.smtp_password)

    # --- Connection check: the table, the configured port working ------------------------------------
    browser.go(page + "&tab=check")
    browser.wait_for("#mailport-check-form")
    submit(browser, "mailport-check-run")
    browser.wait_for("#mailport-ports")
    shot = browser.screenshot("screens-check")
    rows = browser.driver.execute_script("""
        return [...document.querySelectorAll('#mailport-ports tbody tr')].map(
            tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()));
    """)
    ports = [r[0].split()[0] for r in rows]
    ok(ports[:1] == [str(server["port"])] and {"587", "465", "2525", "25"} <= set(ports),
       f"{name}: the check's table lists the configured port and 587, 465, 2525, 25",
       {"rows": rows, "screenshot": shot})
    first = rows[0] if rows else []
    ok(len(first) == 7 and first[6].startswith("works") and "ok" in first[5],
       f"{name}: the configured port works, with its login (AUTH) accepted", first)
    recommendation = browser.driver.execute_script(
        "return document.getElementById('mailport-recommendation').innerText")
    ok(str(server["port"]) in recommendation, f"{name}: the recommendation names the working port",
       recommendation)

    # --- Send a test email -------------------------------------------------------------------
    before = len(messages(server))
    send_test_email(browser, page, "screens@example.net")
    shot = browser.screenshot("screens-test-email")
    result = browser.driver.execute_script("return document.getElementById('mailport-result').innerText")
    ok("accepted by the server" in result and "250" in result,
       f"{name}: the test email's result shows the server's reply", {"result": result, "screenshot": shot})
    msgs = messages(server)[before:]
    arrived = [parse_message(p) for p in msgs]
    ok(len(arrived) == 1 and arrived[0][0]["rcpt_tos"] == ["screens@example.net"]
       and arrived[0][0]["auth_user"] == run.smtp_user,
       f"{name}: the test email arrived, sent with the settings from the screen",
       [(r["rcpt_tos"], r["auth_user"]) for r, _ in arrived])

    # --- Email log: the test email, with its reply -----------------------------------------------
    browser.go(page + "&tab=log")
    browser.wait_for("#mailport-log")
    shot = browser.screenshot("screens-log")
    first_row = browser.driver.execute_script("""
        const tr = document.querySelector('#mailport-log tbody tr');
        return tr ? [...tr.querySelectorAll('td')].map(td => td.innerText.trim()) : [];
    """)
    ok(len(first_row) == 7 and first_row[0] == "sent" and "screens@example.net" in first_row[2]
       and first_row[3].startswith("Mailport test mail"),
       f"{name}: the Email log lists the test email as sent", {"row": first_row, "screenshot": shot})
    link = browser.driver.execute_script(
        "const a = document.querySelector('#mailport-log tbody tr a'); return a ? a.href : null;")
    if ok(bool(link), f"{name}: the log links to the entry", link):
        browser.go(link)
        browser.wait_for("#mailport-attempts")
        shot = browser.screenshot("screens-log-entry")
        attempts = browser.driver.execute_script(
            "return document.getElementById('mailport-attempts').innerText")
        ok("sent" in attempts and "250" in attempts,
           f"{name}: the entry shows its attempt and the server's 250", {"attempts": attempts, "screenshot": shot})

    # --- Email log actions: a queued mail cancelled, then resent --------------------------------
    save_settings(browser, page, {"mailport-delivery": "queue"})
    send_test_email(browser, page, "queued@example.net")
    result = browser.driver.execute_script("return document.getElementById('mailport-result').innerText")
    ok("queued" in result, f"{name}: with delivery set to queue, the test email is queued (and says so)", result)
    browser.go(page + "&tab=log&state=queued")
    browser.wait_for("#mailport-log")
    link = browser.driver.execute_script(
        "const a = document.querySelector('#mailport-log tbody tr a'); return a ? a.href : null;")
    if ok(bool(link), f"{name}: the queued test email is in the log, filtered by state", link):
        browser.go(link)
        browser.wait_for("#mailport-cancel")
        submit(browser, "mailport-cancel")
        browser.wait_for("#mailport-result")
        shot = browser.screenshot("screens-log-cancelled")
        status = browser.driver.execute_script("return document.getElementById('mailport-entry').innerText")
        ok("cancelled" in status, f"{name}: Cancel makes the entry cancelled", {"entry": status, "screenshot": shot})
        buttons = browser.driver.execute_script(
            "return [...document.querySelectorAll('.mailport-entry-actions button')].map(b => b.id)")
        ok("mailport-resend" not in buttons,
           f"{name}: a cancelled entry's message is dropped, so it cannot be resent", buttons)

    # --- Site Health: the plugin's tests, in the page's data -----------------------------------------
    # The Status tab renders its results with scripts that, on this offline test site, do not
    # finish (they wait on requests to wordpress.org); the page carries every direct test's
    # result, computed by PHP, in SiteHealth.site_status.direct: the plugin's are checked there.
    browser.go(url + "/wp-admin/site-health.php")
    browser.wait_for("#wpbody-content")
    state = browser.driver.execute_script("""
        if (typeof SiteHealth === 'undefined') { return null; }
        return SiteHealth.site_status.direct.filter(t => t.test.startsWith('mailport'))
            .map(t => [t.test, t.status, t.label]);
    """) or []
    shot = browser.screenshot("screens-site-health")
    tests = {t: (status, label) for t, status, label in state}
    ok(tests.get("mailport_ffi", ("",))[0] == "good" and tests.get("mailport_worker", ("",))[0] == "good"
       and tests.get("mailport_queue", ("",))[0] == "good" and tests.get("mailport_check", ("",))[0] == "good"
       and tests.get("mailport_library", ("",))[0] == "good",
       f"{name}: Site Health has the plugin's tests, all good here (library, FFI, worker, queue, check)",
       {"tests": tests, "screenshot": shot})


def worker_run(run):
    """`wp mailport outbox run` with the settings of the screen (only the CA and timeout constants)."""
    constants = {"MAILPORT_CA_FILE": run.server["ca"], "MAILPORT_TIMEOUT": 10,
                 "MAILPORT_LIBRARY": run.wp.library}
    res, _ = run.wp.run("outbox_cli", constants, {"runs": [["run", [], {}]]})
    runs = (res or {}).get("runs", [])
    return [m for _k, m in runs[0]["output"]] if runs else []


def run_held_and_retry(run, browser):
    """A queued mail held by a refused login: the log shows why and what to do; the password fixed
    on the screen, Retry sends it. Then the check's recommendation applied with its button."""
    ok = run.ok
    name = "screens"
    url = run.site.url
    page = url + "/wp-admin/options-general.php?page=mailport"
    before = len(messages(run.server))
    save_settings(browser, page, {"mailport-password": "wrong-password", "mailport-delivery": "queue"})
    send_test_email(browser, page, "held@example.net")
    output = worker_run(run)
    ok(any("1 held" in m for m in output), f"{name}: the worker holds the mail (login refused)", output)
    browser.go(page + "&tab=log&state=held")
    browser.wait_for("#mailport-log")
    row = browser.driver.execute_script("""
        const tr = document.querySelector('#mailport-log tbody tr');
        return tr ? [...tr.querySelectorAll('td')].map(td => td.innerText.trim()) : [];
    """)
    shot = browser.screenshot("screens-log-held")
    ok(len(row) == 7 and row[0] == "held" and "password" in row[5].lower(),
       f"{name}: the log shows the held mail with the error and what to do", {"row": row, "screenshot": shot})
    save_settings(browser, page, {"mailport-password": run.smtp_password})
    browser.go(page + "&tab=log&state=held")
    browser.wait_for("#mailport-log")
    link = browser.driver.execute_script(
        "const a = document.querySelector('#mailport-log tbody tr a'); return a ? a.href : null;")
    if ok(bool(link), f"{name}: the held entry opens from the log", link):
        browser.go(link)
        browser.wait_for("#mailport-retry")
        submit(browser, "mailport-retry")
        browser.wait_for("#mailport-result")
        result = browser.driver.execute_script("return document.getElementById('mailport-result').innerText")
        ok("retry done" in result, f"{name}: Retry accepted", result)
        output = worker_run(run)
        arrived = [parse_message(p)[0]["rcpt_tos"] for p in messages(run.server)[before:]]
        ok(any("1 sent" in m for m in output) and ["held@example.net"] in arrived,
           f"{name}: after the password is fixed and Retry, the worker sends it", {"output": output, "arrived": arrived})

    # The check's recommendation applied: a wrong security mode for the port, then the button.
    save_settings(browser, page, {"mailport-security": "tls", "mailport-delivery": "direct-then-queue"})
    browser.go(page + "&tab=check")
    browser.wait_for("#mailport-check-form")
    submit(browser, "mailport-check-run")
    browser.wait_for("#mailport-apply")
    shot = browser.screenshot("screens-check-apply")
    submit(browser, "mailport-apply")
    browser.wait_for("#mailport-result")
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-settings-form")
    security = browser.driver.execute_script("return document.getElementById('mailport-security').value")
    ok(security == "starttls", f"{name}: the check's recommendation applied: STARTTLS on the port",
       {"security": security, "screenshot": shot})


def entry_field(browser, label):
    """A row of the entry screen's table by its heading (Message-ID, State, ...)."""
    return browser.driver.execute_script("""
        for (const tr of document.querySelectorAll('#mailport-entry tr')) {
            const th = tr.querySelector('th');
            if (th && th.innerText.trim() === arguments[0]) { return tr.querySelector('td').innerText.trim(); }
        }
        return null;
    """, label)


def run_resend(run, browser):
    """A queued mail refused for good (550: no such mailbox) fails; once the mailbox exists (the
    server refuses that address only once), Resend on its entry sends it as a new message: a new
    Message-ID and Date, since receivers drop a Message-ID they have seen."""
    ok = run.ok
    name = "screens"
    page = run.site.url + "/wp-admin/options-general.php?page=mailport"
    before = len(messages(run.server))
    save_settings(browser, page, {"mailport-delivery": "queue"})
    send_test_email(browser, page, "refused-once@example.net")
    output = worker_run(run)
    ok(any("1 failed" in m for m in output), f"{name}: the worker fails the mail (550 for its recipient)", output)
    browser.go(page + "&tab=log&state=failed")
    browser.wait_for("#mailport-log")
    link = browser.driver.execute_script(
        "const a = document.querySelector('#mailport-log tbody tr a'); return a ? a.href : null;")
    if not ok(bool(link), f"{name}: the failed entry is in the log, filtered by state", link):
        return
    browser.go(link)
    browser.wait_for("#mailport-resend")
    first_id = entry_field(browser, "Message-ID")
    shot = browser.screenshot("screens-log-failed")
    ok(bool(first_id) and "550" in browser.driver.execute_script(
        "return document.getElementById('mailport-attempts').innerText"),
       f"{name}: the failed entry shows its Message-ID, the server's 550, and a Resend button",
       {"message_id": first_id, "screenshot": shot})
    submit(browser, "mailport-resend")
    browser.wait_for("#mailport-result")
    result = browser.driver.execute_script("return document.getElementById('mailport-result').innerText")
    shot = browser.screenshot("screens-log-resent")
    ok("resent as a new message" in result, f"{name}: Resend makes a new entry and opens it",
       {"result": result, "screenshot": shot})
    output = worker_run(run)
    arrived = [parse_message(p)[1] for p in messages(run.server)[before:]]
    resent = [m for m in arrived if "refused-once@example.net" in str(m["To"])]
    ok(any("1 sent" in m for m in output) and len(resent) == 1, f"{name}: the worker sends the resent mail",
       {"output": output, "arrived": [str(m["To"]) for m in arrived]})
    if resent:
        new_id = str(resent[0]["Message-ID"])
        ok(new_id != first_id and new_id.split("@")[-1] == (first_id or "").split("@")[-1]
           and resent[0]["Date"] is not None,
           f"{name}: the resent mail has a Message-ID of its own (same domain) and a Date",
           {"first": first_id, "resent": new_id, "date": str(resent[0]["Date"])})
    save_settings(browser, page, {"mailport-delivery": "direct-then-queue"})
