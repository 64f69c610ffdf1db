"""The WordPress screens in a real browser: Debian's headless Chromium driven by Selenium.

Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver; same version,
from the same source package), Selenium from PyPI. Selenium is given both paths, so Selenium
Manager never runs and nothing is downloaded (SE_OFFLINE=true as well, should a later version
look anyway). The browser resolves no host name but 127.0.0.1 and localhost: a page that would
load something from the internet fails to, rather than making the test depend on it.

    with Browser(artifacts_dir()) as b:
        b.log_in(site.url, "admin", "admin-password-e2e")
        b.go(site.url + "/wp-admin/")
        b.screenshot("dashboard")           # <artifacts>/dashboard.png, the whole page
        b.notices()                         # [{"classes": [...], "text": "..."}]
"""

import base64
import glob
import os
import re

from wpenv import REPO, SetupError

CHROMIUM = os.environ.get("MAILPORT_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MAILPORT_E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 30   # seconds a page may take to load or an element to appear (each takes well under 1 s)

# What PHP prints when display_errors is on, and what WordPress shows on a fatal error.
PHP_ERROR = re.compile(r"(Fatal error|Parse error|Warning|Notice|Deprecated|Strict Standards)</b>:|"
                       r"\b(Fatal error|Parse error|Warning|Notice|Deprecated): .* in /.* on line \d+|"
                       r"There has been a critical error on this website")


def artifacts_dir(stale=()):
    """MAILPORT_E2E_ARTIFACTS, or <repo>/target/wordpress-screens; created if missing. Files
    matching the glob patterns in stale (an earlier run's screenshots) are removed, so that
    what is there after a run is what this run saw."""
    d = os.environ.get("MAILPORT_E2E_ARTIFACTS") or os.path.join(REPO, "target", "wordpress-screens")
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    for pattern in stale:
        for path in glob.glob(os.path.join(d, pattern)):
            os.unlink(path)
    return d


class Browser:
    def __init__(self, artifacts, width=1280, height=1600, ignore_spki=()):
        """ignore_spki: base64 SHA-256 hashes of the public keys of test servers whose
        certificates (made at test time) Chromium is to accept: those, and no other."""
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError as e:
            raise SetupError(f"selenium is not installed ({e}): python3 -m pip install selenium==4.27.1")
        for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
            if not os.access(path, os.X_OK):
                raise SetupError(f"{path} not found: apt-get install {package}")
        os.environ["SE_OFFLINE"] = "true"
        self.artifacts = artifacts
        self.saved = []
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", f"--window-size={width},{height}", "--disable-gpu",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-default-apps", "--disable-dev-shm-usage", "--hide-scrollbars",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"):
            options.add_argument(arg)
        if ignore_spki:
            options.add_argument("--ignore-certificate-errors-spki-list=" + ",".join(ignore_spki))
        if os.getuid() == 0:
            # Chromium's sandbox cannot run as root.
            options.add_argument("--no-sandbox")
        self.driver_log = os.path.join(artifacts, "chromedriver.log")
        open(self.driver_log, "w").close()      # Selenium appends: one run's log only
        service = Service(executable_path=CHROMEDRIVER, log_output=self.driver_log)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except Exception as e:  # noqa: BLE001 - Selenium raises several unrelated types here
            raise SetupError(f"Chromium did not start through {CHROMEDRIVER}: {e} (see {self.driver_log})")
        self.driver.set_page_load_timeout(WAIT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None

    # --- navigation ---------------------------------------------------------------------------

    def go(self, url):
        self.driver.get(url)
        return self

    def wait_for(self, css):
        """The element matching css, once it is there (WAIT seconds at most)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, WAIT).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def log_out(self):
        """Forget the session: the next log_in starts from no cookies."""
        self.driver.delete_all_cookies()

    def log_in(self, base_url, user, password):
        """Log in at /wp-login.php with its form. Returns where WordPress went; raises
        SetupError with the page's error message when it refused."""
        from selenium.webdriver.common.by import By
        self.log_out()
        self.go(base_url + "/wp-login.php")
        self.wait_for("#user_login")
        # Filled and submitted in one script: wp-login.php's own scripts (wp_attempt_focus, 200 ms
        # after load, and the show-password control) may clear or refocus a field between
        # keystrokes typed one by one. The form is submitted with its button, as a click does.
        self.driver.execute_script("""
            document.getElementById('user_login').value = arguments[0];
            document.getElementById('user_pass').value = arguments[1];
            const form = document.getElementById('loginform');
            form.requestSubmit(document.getElementById('wp-submit'));
        """, user, password)
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, WAIT).until(
            lambda d: "/wp-admin" in d.current_url or d.find_elements(By.ID, "login_error"))
        if "/wp-admin" not in self.driver.current_url:
            errors = self.driver.find_elements(By.ID, "login_error")
            raise SetupError(f"logging in as {user} failed: "
                             + (errors[0].text if errors else self.driver.current_url))
        self.wait_for("body")
        return self.driver.current_url

    # --- what the page shows ------------------------------------------------------------------

    @property
    def url(self):
        return self.driver.current_url

    @property
    def title(self):
        return self.driver.title

    def text(self):
        """The page's visible text."""
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.TAG_NAME, "body").text

    def php_errors(self):
        """PHP error output or WordPress's critical-error page in the page, as lines."""
        source = self.driver.page_source
        return [m.group(0) for m in PHP_ERROR.finditer(source)]

    def notices(self):
        """The admin notices on the page: [{"classes": [...], "text": ...}] (WordPress moves
        them below the page's heading; .notice, .error and .updated are the classes it knows)."""
        return self.driver.execute_script("""
            const seen = new Set(), out = [];
            for (const el of document.querySelectorAll('#wpbody-content .notice, #wpbody-content .error,'
                                                        + ' #wpbody-content .updated, #wpbody-content #message')) {
                // Hidden ones (offsetParent null) are templates or dismissed, not shown.
                if (seen.has(el) || el.offsetParent === null) continue;
                seen.add(el);
                out.push({classes: Array.from(el.classList), text: el.innerText.trim()});
            }
            return out;
        """)

    def styled(self):
        """Whether the admin's style sheets applied (nginx served wp-admin's CSS): the admin
        menu's background is painted."""
        return self.driver.execute_script("""
            const el = document.getElementById('adminmenuback');
            return !!el && getComputedStyle(el).backgroundColor !== 'rgba(0, 0, 0, 0)';
        """)

    def cookie_header(self):
        """The session's cookies as a Cookie header, for requests made outside the browser (a
        POST without the form's nonce, the status code of a refused page)."""
        return "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())

    def tab_links(self, contains):
        """The hrefs of the page's tabs (.nav-tab) whose address contains this text."""
        return self.driver.execute_script("""
            return Array.from(document.querySelectorAll('#wpbody-content a.nav-tab'))
                .map(a => a.href).filter((h, i, all) => h.includes(arguments[0]) && all.indexOf(h) === i);
        """, contains)

    def actions(self):
        """What the page lets its user do: each POST form of the page's content with the fields
        it would send (files left out), and each link to admin-post.php or carrying a nonce:
        [{"method": "POST"|"GET", "url": ..., "fields": [[name, value], ...]}]."""
        return self.driver.execute_script("""
            const out = [];
            for (const f of document.querySelectorAll('#wpbody-content form')) {
                if ((f.getAttribute('method') || 'get').toLowerCase() !== 'post') continue;
                const fields = [];
                for (const [k, v] of new FormData(f).entries()) if (typeof v === 'string') fields.push([k, v]);
                // Not f.action: a field named "action" (admin-post.php's) shadows it.
                const url = new URL(f.getAttribute('action') || location.href, location.href).href;
                out.push({method: 'POST', url, fields});
            }
            for (const a of document.querySelectorAll(
                    '#wpbody-content a[href*="admin-post.php"], #wpbody-content a[href*="_wpnonce="]')) {
                out.push({method: 'GET', url: a.href, fields: []});
            }
            return out;
        """)

    def admin_menu_links(self, contains):
        """The hrefs of the admin menu's entries whose address contains this text."""
        return self.driver.execute_script("""
            return Array.from(document.querySelectorAll('#adminmenu a'))
                .map(a => a.href).filter((h, i, all) => h.includes(arguments[0]) && all.indexOf(h) === i);
        """, contains)

    # --- screenshots --------------------------------------------------------------------------

    def screenshot(self, name):
        """The whole page (not only the window) as <artifacts>/<name>.png; returns the path."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        })
        path = os.path.join(self.artifacts, f"{name}.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        self.saved.append(path)
        return path
