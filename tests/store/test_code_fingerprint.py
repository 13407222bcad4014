"""Deep code fingerprints: a step's key follows the functions of its module that it calls."""

from __future__ import annotations

from crystallize.core.fingerprint import code_fingerprint, hash_value

MODULE = '''
from crystallize import PipelineStep, pipeline_step

LIMIT = 3
NAMES = ("a", "b")

def leaf(x):
    return x * 2

def middle(x):
    return leaf(x) + 1

def ping(n):
    return pong(n - 1) if n else 0

def pong(n):
    return ping(n - 1) if n else 1

def unrelated():
    return "not used"

def top(x):
    return middle(x) + ping(LIMIT) + len(NAMES)

class Base(PipelineStep):
    def prepare(self, x):
        return leaf(x)

class Step(Base):
    def __call__(self, data, ctx):
        return {"v": self.prepare(data)}

@pipeline_step
def decorated(data, ctx):
    return middle(data)

def uses_decorated(x):
    return decorated
'''


def _fingerprints(load_module, source):
    module = load_module(source, name="fpmod")
    return {name: code_fingerprint(getattr(module, name))
            for name in ("top", "Step", "unrelated", "uses_decorated")} | {"instance": code_fingerprint(module.Step())}


def test_editing_a_function_changes_every_fingerprint_that_reaches_it(load_module):
    before = _fingerprints(load_module, MODULE)
    assert _fingerprints(load_module, MODULE) == before  # stable for the same source
    after = _fingerprints(load_module, MODULE.replace("return x * 2", "return x * 3"))
    assert after["top"] != before["top"]                  # top -> middle -> leaf
    assert after["Step"] != before["Step"]                # Step -> Base.prepare -> leaf
    assert after["instance"] == after["Step"]
    assert after["uses_decorated"] != before["uses_decorated"]  # through the decorated step's function
    assert after["unrelated"] == before["unrelated"]


def test_module_constants_and_mutual_recursion_are_covered(load_module):
    before = _fingerprints(load_module, MODULE)
    assert _fingerprints(load_module, MODULE.replace("LIMIT = 3", "LIMIT = 4"))["top"] != before["top"]
    assert _fingerprints(load_module, MODULE.replace('("a", "b")', '("a",)'))["top"] != before["top"]
    assert _fingerprints(load_module, MODULE.replace("else 1", "else 2"))["top"] != before["top"]
    assert _fingerprints(load_module, MODULE.replace('"not used"', '"changed"'))["top"] == before["top"]


def test_lambdas_and_plain_values_hash_stably():
    assert code_fingerprint(lambda x: x + 1) != code_fingerprint(lambda x: x + 2)

    class Holder:
        def __init__(self):
            self.size = 3

    # objects without a repr hash by type and public attributes, not by memory address
    assert hash_value({"p": Holder()}) == hash_value({"p": Holder()})
