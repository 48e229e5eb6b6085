"""What the handler tests share: a handler module of ../lambda loaded with boto3 replaced
by a fake client and its environment set, as Lambda would run it."""

import importlib.util
import os
import sys
import types

sys.dont_write_bytecode = True

LAMBDA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lambda")


def load(name, client, environment):
    """The module lambda/NAME.py, its `boto3.client(...)` returning `client`, with
    `environment` in os.environ."""
    boto3 = types.ModuleType("boto3")
    boto3.client = lambda service: client
    sys.modules["boto3"] = boto3
    os.environ.update(environment)
    spec = importlib.util.spec_from_file_location(name, os.path.join(LAMBDA, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
