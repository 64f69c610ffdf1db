#!/usr/bin/env python3
"""Generate a C program that calls every function of include/mailport.h once per pointer
argument with that argument NULL (tests/c_null_arguments.rs runs it under valgrind, and
.ci/sanitize.sh under AddressSanitizer).

    gen_null_calls.py HEADER OUT.c

What each call must do comes from the function's own documentation, the "**NULL:**" paragraph
the doc template requires:

- a pointer the paragraph says "must not be NULL" (or may be NULL "only when/with" a length of
  0, which the call never passes): a function returning `mailport_result` gives
  MAILPORT_ERR_NULL_ARGUMENT, its error object has that code and names the argument, and every
  other `**out` argument is left NULL;
- a pointer the paragraph says "may be NULL" (or "returns X when `p` is NULL"): no crash, and the
  return value the paragraph promises ("", NULL, 0, false, -1, never NULL);
- a pointer the paragraph does not mention: the generator stops and names the function, so a new
  function cannot escape the test by leaving NULL undocumented.

Arrays of pointers (`const char *const *recipients`) get a second call with a NULL element.
The other arguments are real: handles come from `fx_new_<type>()` in tests/c/null_fixtures.h
(or `fx_with_<type>(body)` for a handle that only exists inside a callback), strings from the
tables below by parameter name. A handle type without a fixture stops the generator with the
name of the fixture to add. Every function prints "CALLED <name>" so that the test can check,
from the header on its own, that nothing was skipped.
"""

import re
import sys
from pathlib import Path

FIXTURES_HEADER = "null_fixtures.h"

# Valid-looking values for `const char *` parameters, by "function.param" first, then by
# parameter name. Anything else gets "x": a NULL check must come before any check of the other
# arguments, so an odd string beside the NULL one still has to give MAILPORT_ERR_NULL_ARGUMENT.
STRINGS_BY_CALL = {
    "mailport_config_set_helo_name.name": '"client.example.org"',
    "mailport_config_set_tls_server_name.name": '"localhost"',
    "mailport_config_set_oauth_token_url.url": "fx_refused_url",
    "mailport_config_from_url.url": "fx_server_url",
    "mailport_message_add_header.name": '"X-Null-Test"',
    "mailport_message_remove_header.name": '"X-Null-Test"',
    "mailport_message_set_from_parts.name": '"Ann"',
    "mailport_message_add_mailbox_parts.name": '"Ann"',
    "mailport_wp_mail_set_default_from.name": '"Blog"',
    "mailport_wp_mail_add_attachment.name": '"notes.txt"',
    "mailport_wp_mail_set_message.message": '"Hello from the NULL test."',
    "mailport_oauth_token_fail.message": '"refused by the NULL test"',
    "mailport_message_set_message_id.id": '"<null-test@example.org>"',
    "mailport_outbox_get.id": "fx_outbox_id",
    "mailport_outbox_retry.id": "fx_outbox_id",
    "mailport_outbox_cancel.id": "fx_outbox_id",
}
STRINGS_BY_NAME = {
    "host": '"127.0.0.1"',
    "username": '"nulltest@example.org"',
    "password": '"secret"',
    "token": '"null-test-token"',
    "address": '"ann@example.org"',
    "mailbox": '"Ann <ann@example.org>"',
    "mailboxes": '"ann@example.org, bob@example.org"',
    "envelope_from": '"ann@example.org"',
    "from": '"ann@example.org"',
    "to": '"bob@example.org"',
    "email": '"wordpress@example.org"',
    "subject": '"NULL test"',
    "text": '"Hello from the NULL test."',
    "html": '"<p>Hello from the NULL test.</p>"',
    "media_type": '"text/plain"',
    "content_type": '"text/plain"',
    "label": '"utf-8"',
    "charset": '"UTF-8"',
    "path": "fx_file_path",
    "filename": '"notes.txt"',
    "content_id": '"logo@example.org"',
    "headers": '"Cc: carol@example.org\\nX-Wp: yes"',
    "header": '"X-Wp: yes"',
    "domain": '"example.org"',
    "value": '"override@example.org"',
    "binding": '"c"',
    "tenant": '"common"',
    "scope": '"https://mail.google.com/"',
    "client_id": '"null-test-client"',
    "client_secret": '"null-test-secret"',
    "refresh_token": '"null-test-refresh"',
    "mechanism": '"PLAIN"',
    "location": "fx_spool_dir",
    "url": "fx_server_url",
}
# `const void *` buffers: the bytes and their length.
BYTES_BY_NAME = {
    "pem": ("fx_ca_pem", "fx_ca_pem_len"),
    "message": ('"Subject: NULL test\\r\\n\\r\\nHello.\\r\\n"', "30"),
}
DEFAULT_BYTES = ('"hello, NULL test"', "16")
# Integer arguments by name; others are 0.
INTEGERS_BY_NAME = {
    "port": "fx_server_port",
    "security": "MAILPORT_SECURITY_STARTTLS",
    "provider": "MAILPORT_OAUTH_PROVIDER_GOOGLE",
    "field": "MAILPORT_FIELD_TO",
    "which": "MAILPORT_WP_FROM_EMAIL",
    "ms": "2000",
    "idle_timeout_ms": "2000",
    "deadline_ms": "2000",
    "limit": "10",
    "expires_in_seconds": "3600",
    "unix_seconds": "1700000000",
    "fd": "fx_dev_null()",
}
INT_ARRAYS_BY_NAME = {
    "ports": "fx_server_port",
    "states": "MAILPORT_OUTBOX_STATE_QUEUED",
}
OUT_BUFFER_SIZE = 4096


def fail(why):
    sys.exit(f"gen_null_calls.py: {why}")


class Param:
    def __init__(self, text):
        text = " ".join(text.split())
        m = re.match(r"^(.*?)(\w+)$", text)
        if not m:
            fail(f"cannot read the parameter {text!r}")
        self.type = m.group(1).strip()
        self.name = m.group(2)
        self.ctype = self.type.replace("struct ", "").replace(" *", "*").replace("* ", "*")

    @property
    def is_pointer(self):
        return "*" in self.type or self.type in CALLBACK_TYPES


CALLBACK_TYPES = {}


def parse_header(text):
    """The exported functions, in header order: (name, return type, params, NULL paragraph)."""
    for m in re.finditer(r"typedef\s+(\w+)\s+\(\*(\w+)\)\s*\(([^)]*)\);", text):
        CALLBACK_TYPES[m.group(2)] = (m.group(1), [Param(p) for p in m.group(3).split(",")])
    functions = []
    pattern = r"/\*\*((?:(?!\*/).)*?)\*/\s*([A-Za-z][^;{}#]*?)\b(mailport_\w+)\s*\(([^;]*?)\);"
    for m in re.finditer(pattern, text, flags=re.S):
        doc = "\n".join(line.strip().lstrip("*").strip() for line in m.group(1).splitlines())
        null_doc = re.search(r"\*\*NULL:\*\*(.*?)(?:\n\n|$)", doc, flags=re.S)
        null_doc = " ".join(null_doc.group(1).split()) if null_doc else ""
        ret = " ".join(m.group(2).split())
        args = " ".join(m.group(4).split())
        params = [] if args == "void" else [Param(p) for p in split_params(args)]
        functions.append((m.group(3), ret, params, null_doc))
    return functions


def split_params(args):
    return [a.strip() for a in args.split(",")]


def exported_names(text):
    body = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.findall(r"^[A-Za-z][^;#{}()]*?\b(mailport_\w+)\s*\(", body, flags=re.M)


def classify(fn, param, null_doc):
    """'required', 'nullable' or 'conditional' (NULL only with a length of 0) for `param`."""
    tick = f"`{param.name}`"
    verdicts = set()
    for clause in re.split(r"(?<=[.;])\s+", null_doc):
        if tick not in clause:
            continue
        # A clause speaks of the names before its verb: in "`a` may be NULL: guessed from `b`",
        # `b` is not the one that may be NULL.
        before = lambda phrase: tick in clause[: clause.index(phrase)] if phrase in clause else False
        if before("must not be NULL"):
            verdicts.add("required")
        elif re.search(rf"{re.escape(tick)} (itself )?(may be NULL )?only (when|with)", clause):
            verdicts.add("conditional")
        elif "both NULL" in clause and "both not NULL" in clause:
            verdicts.add("required")
        elif before("may be NULL") or re.search(rf"{re.escape(tick)}( or `\w+`)* (is )?NULL\b", clause):
            # "`p` may be NULL", "returns 0 when `p` or `q` is NULL", "`p` is NULL for", "`p` NULL removes"
            verdicts.add("nullable")
    if len(verdicts) != 1:
        fail(f"{fn}: the **NULL:** paragraph of its documentation does not say plainly whether "
             f"{tick} may be NULL ({null_doc!r}); say \"{tick} must not be NULL\" or "
             f"\"{tick} may be NULL\" there (src/ffi)")
    return verdicts.pop()


def promised_return(ret, null_doc, param):
    """The value the NULL paragraph promises for a NULL `param`, as a C condition on `r`."""
    tick = f"`{param.name}`"
    for clause in re.split(r"(?<=[.;])\s+", null_doc):
        if tick not in clause:
            continue
        m = re.search(r'returns (""|NULL|0|false|-1|`(\w+)`)', clause)
        if not m:
            continue
        value = m.group(1)
        if value == '""':
            return 'r != NULL && r[0] == \'\\0\''
        if value == "NULL":
            return "r == NULL"
        if value == "false":
            return "!r"
        if m.group(2):
            return f"r == {m.group(2)}"
        return f"r == {value}"
    if ret.startswith("const char") and "never returns NULL" in null_doc.lower():
        return "r != NULL"
    return None


def length_of(params, i):
    """The index of the length argument that goes with pointer `params[i]`, or None."""
    if i + 1 < len(params):
        nxt = params[i + 1]
        if nxt.type == "size_t" and (nxt.name in ("len", "count") or nxt.name.endswith(("_len", "_count"))):
            return i + 1
    return None


class Call:
    """One call of `fn` with `params[null_index]` NULL (or its array element, `null_element`)."""

    def __init__(self, fn, ret, params, null_doc, fixtures, null_index, null_element=False):
        self.fn, self.ret, self.params, self.null_doc = fn, ret, params, null_doc
        self.fixtures = fixtures
        self.null_index, self.null_element = null_index, null_element
        self.setup, self.cleanup, self.args, self.outs = [], [], [], []
        self.scoped = None  # (type, variable) of a handle that exists only inside a callback

    def value(self, i, p):
        var = f"a{i}"
        nulled = i == self.null_index and not self.null_element
        length_owner = next((j for j, q in enumerate(self.params) if length_of(self.params, j) == i), None)
        if length_owner is not None:
            return f"n{length_owner}"
        if nulled:
            if length_of(self.params, i) is not None:
                self.setup.append(f"size_t n{i} = {self.length_for(i, p)};")
            return "NULL"
        t = p.type
        if t == "char *" and self.fn.endswith("_free"):
            return "fx_owned_string()"
        if t in CALLBACK_TYPES:
            return f"stub_{t}"
        if t == "void *":
            return "&fx_userdata"
        m = re.fullmatch(r"(const )?struct (\w+) \*", t)
        if m:
            return self.handle(m.group(2), var, owned_by_call=False)
        m = re.fullmatch(r"struct (\w+) \*\*", t)
        if m:
            self.setup.append(f"struct {m.group(1)} *{var} = NULL;")
            free = f"{m.group(1)}_free"
            if free not in self.fixtures["functions"]:
                fail(f"{self.fn}: no {free}() to free the `{p.name}` it hands out")
            self.outs.append((var, p.name))
            self.cleanup.append(f"{free}({var});")
            return f"&{var}"
        if t == "const struct mailport_config *const *":
            cfg = self.handle("mailport_config", f"{var}_0", owned_by_call=False)
            element = "NULL" if self.null_element and i == self.null_index else cfg
            self.setup.append(f"const struct mailport_config *{var}[1] = {{{element}}};")
            self.setup.append(f"size_t n{i} = 1;")
            return var
        if t == "const char *const *":
            element = "NULL" if self.null_element and i == self.null_index else '"bob@example.org"'
            self.setup.append(f"const char *{var}[1] = {{{element}}};")
            self.setup.append(f"size_t n{i} = 1;")
            return var
        if t == "const char *":
            return STRINGS_BY_CALL.get(f"{self.fn}.{p.name}", STRINGS_BY_NAME.get(p.name, '"x"'))
        if t == "const void *":
            data, length = BYTES_BY_NAME.get(p.name, DEFAULT_BYTES)
            self.setup.append(f"size_t n{i} = {length};")
            return data
        if t in ("char *", "uint8_t *"):
            base = t.split()[0]
            self.setup.append(f"{base} {var}[{OUT_BUFFER_SIZE}];")
            self.setup.append(f"size_t n{i} = sizeof {var};")
            return var
        m = re.fullmatch(r"const (uint16_t|uint32_t) \*", t)
        if m:
            self.setup.append(f"{m.group(1)} {var}[1] = {{{INT_ARRAYS_BY_NAME.get(p.name, '0')}}};")
            self.setup.append(f"size_t n{i} = 1;")
            return var
        m = re.fullmatch(r"(size_t|uint\d+_t|int\d+_t|bool) \*", t)
        if m:
            self.setup.append(f"{m.group(1)} {var} = 0;")
            return f"&{var}"
        if "*" in t:
            fail(f"{self.fn}: no valid value for `{p.name}` of type {t}: teach gen_null_calls.py one")
        if t == "bool":
            return "true"
        return INTEGERS_BY_NAME.get(p.name, "0")

    def length_for(self, i, p):
        t = p.type
        if t == "const void *":
            return BYTES_BY_NAME.get(p.name, DEFAULT_BYTES)[1]
        if t in ("char *", "uint8_t *"):
            return str(OUT_BUFFER_SIZE)
        return "1"

    def handle(self, type_name, var, owned_by_call):
        if type_name in self.fixtures["new"]:
            self.setup.append(f"struct {type_name} *{var} = fx_new_{type_name}();")
            self.setup.append(f'if ({var} == NULL) {{ fx_fixture_failed("{type_name}", "{self.fn}"); return; }}')
            if self.fn != f"{type_name}_free":  # which takes the handle back itself
                self.cleanup.insert(0, f"{type_name}_free({var});")
            return var
        if type_name in self.fixtures["with"]:
            if self.scoped is not None:
                fail(f"{self.fn}: two callback-scoped handles in one call")
            self.scoped = (type_name, var)
            return var
        fail(f"{self.fn}: no fixture for struct {type_name}: add fx_new_{type_name}() (or "
             f"fx_with_{type_name}(body) for a handle that exists only inside a callback) to "
             f"tests/c/{FIXTURES_HEADER}")

    def render(self, index):
        args = [self.value(i, p) for i, p in enumerate(self.params)]
        nulled = self.params[self.null_index] if self.null_index is not None else None
        label = "(none)" if nulled is None else nulled.name + ("[0]" if self.null_element else "")
        body = list(self.setup)
        call = f"{self.fn}({', '.join(args)})"
        body.append(f'fx_calling("{self.fn}", "{label}");')
        if self.ret == "void":
            body.append(f"{call};")
        else:
            body.append(f"{self.ret} r = {call};")
        body += self.checks(nulled)
        if self.ret == "char *":
            body.append("mailport_string_free(r);")
        m = re.fullmatch(r"struct (\w+) \*", self.ret)
        if m:
            body.append(f"{m.group(1)}_free(r);")
        body += self.cleanup
        name = f"cover_{index}"
        if self.scoped is None:
            return name, f"static void {name}(void) {{\n    " + "\n    ".join(body) + "\n}\n"
        type_name, var = self.scoped
        inner = f"static void {name}_body(struct {type_name} *{var}) {{\n    " + "\n    ".join(body) + "\n}\n"
        outer = f"static void {name}(void) {{ fx_with_{type_name}({name}_body); }}\n"
        return name, inner + outer

    def checks(self, nulled):
        if nulled is None:
            if self.ret == "enum mailport_result":
                err = next((v for v, n in self.outs if n == "error_out"), None)
                return [f'fx_any_result("{self.fn}", "(none)", r, {1 if err else 0}, {err or "NULL"});']
            return ["(void)r;"] if self.ret not in ("void", "char *") and not self.ret.startswith("struct ") else []
        kind = "required" if self.null_element else classify(self.fn, nulled, self.null_doc)
        label = nulled.name
        if self.ret == "enum mailport_result":
            err = next((v for v, n in self.outs if n == "error_out"), None)
            outs = [v for v, n in self.outs if n != "error_out"]
            other_outs = "(" + " && ".join(f"{v} == NULL" for v in outs) + ")" if outs else "1"
            wanted, err = (1, err) if err else (0, "NULL")
            if kind == "nullable":
                return [f'fx_any_result("{self.fn}", "{label}", r, {wanted}, {err});']
            return [f'fx_null_argument("{self.fn}", "{label}", r, {wanted}, {err}, {other_outs});']
        if kind != "nullable":
            fail(f"{self.fn} returns {self.ret}, not a mailport_result, so it cannot report a NULL "
                 f"`{label}`: its documentation must let `{label}` be NULL and say what it returns")
        promise = promised_return(self.ret, self.null_doc, nulled)
        if promise is None:
            return ["(void)r;"] if self.ret != "void" else []
        return [f'fx_promise("{self.fn}", "{label}", {promise}, "{promise}");']


def main():
    if len(sys.argv) != 3:
        fail("usage: gen_null_calls.py HEADER OUT.c")
    header = Path(sys.argv[1]).read_text()
    fixtures_text = (Path(__file__).parent / FIXTURES_HEADER).read_text()
    functions = parse_header(header)
    names = exported_names(header)
    documented = [f[0] for f in functions]
    if documented != names:
        missing = sorted(set(names) - set(documented))
        fail(f"functions without a doc comment the generator can read: {missing}")
    fixtures = {
        "new": set(re.findall(r"\bfx_new_(mailport_\w+)\s*\(void\)", fixtures_text)),
        "with": set(re.findall(r"\bfx_with_(mailport_\w+)\s*\(", fixtures_text)),
        "functions": set(names),
    }
    out = [
        "/* GENERATED by tests/c/gen_null_calls.py from include/mailport.h: do not edit. */",
        f'#include "{FIXTURES_HEADER}"',
        "",
    ]
    for typedef, (ret, params) in CALLBACK_TYPES.items():
        args = ", ".join(f"{p.type} {p.name}" for p in params)
        unused = " ".join(f"(void){p.name};" for p in params)
        value = "" if ret == "void" else " return 0;"
        out.append(f"static {ret} stub_{typedef}({args}) {{ {unused}{value} }}")
    out.append("")
    covers = []
    for fn, ret, params, null_doc in functions:
        pointer_indices = [i for i, p in enumerate(params) if p.is_pointer]
        # First with every argument real: the fixtures are checked to be usable, and each
        # function runs once on a live handle under the same memory checker.
        calls = [Call(fn, ret, params, null_doc, fixtures, None)]
        for i in pointer_indices:
            calls.append(Call(fn, ret, params, null_doc, fixtures, i))
            if params[i].type.endswith("*const *"):
                calls.append(Call(fn, ret, params, null_doc, fixtures, i, null_element=True))
        for call in calls:
            name, code = call.render(len(covers))
            covers.append(name)
            out.append(code)
    out.append("static void (*const COVERS[])(void) = {")
    out += [f"    {c}," for c in covers]
    out.append("};")
    out.append("")
    out.append("int main(int argc, char **argv) {")
    out.append("    fx_init(argc, argv);")
    out.append("    for (size_t i = 0; i < sizeof COVERS / sizeof COVERS[0]; i++) COVERS[i]();")
    out.append("    return fx_finish();")
    out.append("}")
    Path(sys.argv[2]).write_text("\n".join(out) + "\n")
    print(f"{len(functions)} functions, {len(covers)} calls")


if __name__ == "__main__":
    main()
