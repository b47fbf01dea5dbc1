"""``dashboard.cache``: a page's cached function is wrapped once per process, not on every run."""

from dashboard import cache

PAGE = '''
from dashboard import cache
calls = []

@cache.data(show_spinner=False, max_entries=4)
def square(x):
    calls.append(x)
    return x * x
'''


def run_page(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "fake_page.py", "exec"), namespace)  # what Streamlit does with a page on each run
    return namespace


def test_a_rerun_gets_the_wrapper_of_the_first_run():
    first, second = run_page(PAGE), run_page(PAGE)
    assert first["square"] is second["square"]  # no second wrapper: no second getsource
    assert second["square"](7) == 49


def test_changed_code_gets_a_wrapper_of_its_own():
    changed = run_page(PAGE.replace("x * x", "x * x + 1"))
    assert changed["square"] is not run_page(PAGE)["square"]
    assert changed["square"](3) == 10


def test_a_closure_is_wrapped_again():
    def make(offset):
        @cache.data(show_spinner=False)
        def shifted(x):
            return x + offset
        return shifted

    one, two = make(1), make(2)
    assert one is not two  # a kept wrapper would call the first closure's function
