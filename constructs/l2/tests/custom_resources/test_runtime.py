"""cairn's custom resource runtime (constructs/l2/src/custom_resources/*.py) against stubs:
boto3 and botocore are replaced by fakes, and ResponseURL PUTs are recorded, so the tests
run without AWS, moto or boto3. Each handler is loaded as the Lambda function gets it:
cfn_response.py followed by the handler's file, as one module."""

import io
import json
import os
import re
import sys
import types
import unittest

SOURCES = os.environ.get(
    "CAIRN_CUSTOM_RESOURCES_SRC",
    os.path.join(os.path.dirname(__file__), "..", "..", "src", "custom_resources"),
)


class ClientError(Exception):
    def __init__(self, code, message="error"):
        super().__init__(f"An error occurred ({code}): {message}")
        self.response = {"Error": {"Code": code, "Message": message}}


def xform_name(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class FakeAws:
    """What the handlers call: clients by service name, each a recorder of calls."""

    def __init__(self):
        self.calls = []
        self.answers = {}
        self.services = ["ssm", "lambda", "stepfunctions", "logs", "sts"]

    def client(self, service, region_name=None, api_version=None):
        aws = self
        meta = types.SimpleNamespace(region_name=region_name or "eu-west-1")

        class Client:

            def __getattr__(self, method):
                if method == "meta":
                    return meta
                if method.startswith("_"):
                    raise AttributeError(method)

                def call(**kwargs):
                    aws.calls.append((service, method, kwargs))
                    answer = aws.answers.get((service, method), {})
                    if isinstance(answer, Exception):
                        raise answer
                    return answer(kwargs) if callable(answer) else json.loads(json.dumps(answer))

                return call

        return Client()


def load(handler_file, aws):
    boto3 = types.ModuleType("boto3")
    boto3.client = aws.client
    session = types.ModuleType("boto3.session")

    class Session:
        def __init__(self, **kwargs):
            pass

        def client(self, service, region_name=None, api_version=None):
            return aws.client(service, region_name, api_version)

        def get_available_services(self):
            return aws.services

    session.Session = Session
    boto3.session = session
    botocore = types.ModuleType("botocore")
    botocore.xform_name = xform_name
    exceptions = types.ModuleType("botocore.exceptions")
    exceptions.ClientError = ClientError
    botocore.exceptions = exceptions
    sys.modules.update({"boto3": boto3, "boto3.session": session, "botocore": botocore, "botocore.exceptions": exceptions})
    text = "".join(open(os.path.join(SOURCES, f)).read() + "\n" for f in ("cfn_response.py", handler_file))
    module = types.ModuleType(handler_file[:-3])
    exec(compile(text, handler_file, "exec"), module.__dict__)
    module.RESPONSE_PAUSE = 0
    module.responses = []

    def put(url, body):
        module.responses.append((url, json.loads(body)))

    module.http_put = put
    return module


def request(kind="Create", **extra):
    event = {
        "RequestType": kind,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/response?sig=x",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/S/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Widget",
        "ResourceType": "Custom::Widget",
        "ResourceProperties": {"ServiceToken": "arn:fn", "Size": "3"},
    }
    if kind != "Create":
        event["PhysicalResourceId"] = "widget-1"
    event.update(extra)
    return event


def lambda_answer(payload, error=False):
    def answer(kwargs):
        result = {"Payload": io.BytesIO(json.dumps(payload(json.loads(kwargs["Payload"]))).encode())}
        if error:
            result["FunctionError"] = "Unhandled"
        return result

    return answer


class Framework(unittest.TestCase):
    def setUp(self):
        self.aws = FakeAws()
        os.environ["USER_ON_EVENT_FUNCTION_ARN"] = "arn:aws:lambda:eu-west-1:123456789012:function:on-event"
        os.environ.pop("USER_IS_COMPLETE_FUNCTION_ARN", None)
        os.environ.pop("WAITER_STATE_MACHINE_ARN", None)
        self.fw = load("framework.py", self.aws)

    def on_event_returns(self, answer, error=False):
        self.aws.answers[("lambda", "invoke")] = lambda_answer(answer, error)

    def test_the_answer_of_the_on_event_function_goes_to_the_response_url(self):
        self.on_event_returns(lambda e: {"PhysicalResourceId": "widget-9", "Data": {"Name": "w"}})
        self.fw.on_event(request())
        [(url, body)] = self.fw.responses
        self.assertTrue(url.startswith("https://cloudformation-custom-resource-response.example/"))
        self.assertEqual(body["Status"], "SUCCESS")
        self.assertEqual(body["PhysicalResourceId"], "widget-9")
        self.assertEqual(body["Data"], {"Name": "w"})
        self.assertEqual((body["RequestId"], body["LogicalResourceId"]), ("req-1", "Widget"))
        self.assertNotIn("NoEcho", body)
        # The user's function got the request, ResponseURL included.
        [(_, _, call)] = self.aws.calls
        self.assertEqual(json.loads(call["Payload"])["ResourceProperties"]["Size"], "3")

    def test_the_default_physical_id_is_the_request_id_then_the_current_one(self):
        self.on_event_returns(lambda e: {})
        self.fw.on_event(request())
        self.fw.on_event(request("Update"))
        self.assertEqual([b["PhysicalResourceId"] for _, b in self.fw.responses], ["req-1", "widget-1"])

    def test_no_echo_is_passed_on(self):
        self.on_event_returns(lambda e: {"Data": {"Secret": "s"}, "NoEcho": True})
        self.fw.on_event(request())
        self.assertIs(self.fw.responses[0][1]["NoEcho"], True)

    def test_a_failing_function_fails_the_resource_with_its_message(self):
        self.on_event_returns(lambda e: {"errorMessage": "no capacity", "errorType": "ValueError"}, error=True)
        self.fw.on_event(request())
        [(_, body)] = self.fw.responses
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("no capacity", body["Reason"])
        self.assertIn("/aws/lambda/on-event", body["Reason"])
        self.assertEqual(body["PhysicalResourceId"], self.fw.CREATE_FAILED_MARKER)

    def test_the_delete_after_a_failed_create_is_answered_without_the_function(self):
        self.fw.on_event(request("Delete", PhysicalResourceId=self.fw.CREATE_FAILED_MARKER))
        self.assertEqual(self.aws.calls, [])
        self.assertEqual(self.fw.responses[0][1]["Status"], "SUCCESS")

    def test_a_delete_may_not_change_the_physical_id(self):
        self.on_event_returns(lambda e: {"PhysicalResourceId": "other"})
        self.fw.on_event(request("Delete"))
        body = self.fw.responses[0][1]
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("cannot change the physical resource ID", body["Reason"])

    def test_with_is_complete_the_waiter_gets_the_answered_request(self):
        os.environ["USER_IS_COMPLETE_FUNCTION_ARN"] = "arn:aws:lambda:eu-west-1:123456789012:function:is-complete"
        os.environ["WAITER_STATE_MACHINE_ARN"] = "arn:aws:states:eu-west-1:123456789012:stateMachine:w"
        self.on_event_returns(lambda e: {"PhysicalResourceId": "widget-2", "Data": {"A": "1"}})
        self.fw.on_event(request())
        self.assertEqual(self.fw.responses, [])
        service, method, call = self.aws.calls[-1]
        self.assertEqual((service, method), ("stepfunctions", "start_execution"))
        started = json.loads(call["input"])
        self.assertEqual((started["PhysicalResourceId"], started["Data"]), ("widget-2", {"A": "1"}))
        self.assertIn("ResponseURL", started)

    def test_is_complete_retries_until_done_then_merges_data(self):
        os.environ["USER_IS_COMPLETE_FUNCTION_ARN"] = "arn:aws:lambda:eu-west-1:123456789012:function:is-complete"
        waiting = request(PhysicalResourceId="widget-2", Data={"A": "1", "B": "1"})
        self.on_event_returns(lambda e: {"IsComplete": False})
        with self.assertRaises(self.fw.Retry) as retry:
            self.fw.is_complete(waiting)
        self.assertEqual(json.loads(str(retry.exception))["PhysicalResourceId"], "widget-2")
        self.assertEqual(self.fw.responses, [])
        self.on_event_returns(lambda e: {"IsComplete": True, "Data": {"B": "2"}})
        self.fw.is_complete(waiting)
        body = self.fw.responses[0][1]
        self.assertEqual((body["Status"], body["Data"]), ("SUCCESS", {"A": "1", "B": "2"}))

    def test_data_with_is_complete_false_is_an_error(self):
        os.environ["USER_IS_COMPLETE_FUNCTION_ARN"] = "arn:aws:lambda:eu-west-1:123456789012:function:is-complete"
        self.on_event_returns(lambda e: {"IsComplete": False, "Data": {"X": "1"}})
        self.fw.is_complete(request(PhysicalResourceId="widget-2"))
        self.assertEqual(self.fw.responses[0][1]["Status"], "FAILED")

    def test_the_timeout_fails_the_resource(self):
        waiting = request(PhysicalResourceId="widget-2")
        cause = json.dumps({"errorMessage": json.dumps(waiting), "errorType": "Retry"})
        self.fw.on_timeout({"Error": "Retry", "Cause": cause})
        body = self.fw.responses[0][1]
        self.assertEqual((body["Status"], body["Reason"], body["PhysicalResourceId"]),
                         ("FAILED", "Operation timed out", "widget-2"))
        with self.assertRaises(ValueError):
            self.fw.on_timeout({"Error": "States.Timeout", "Cause": "not json"})

    def test_a_failed_response_is_retried(self):
        attempts = []

        def flaky(url, body):
            attempts.append(url)
            if len(attempts) < 3:
                raise OSError("connection reset")

        self.fw.http_put = flaky
        self.on_event_returns(lambda e: {})
        self.fw.on_event(request())
        self.assertEqual(len(attempts), 3)


class AwsCall(unittest.TestCase):
    def setUp(self):
        self.aws = FakeAws()
        self.h = load("aws_call.py", self.aws)

    def event(self, kind, **calls):
        props = {k: json.dumps(v) for k, v in calls.items()}
        return request(kind, ResourceType="Custom::AWS", ResourceProperties={"ServiceToken": "arn:fn", **props})

    def test_create_makes_the_call_and_answers_with_the_flattened_response(self):
        self.aws.answers[("ssm", "put_parameter")] = {"Version": 1, "Tier": "Standard", "ResponseMetadata": {}}
        put = {"service": "SSM", "action": "putParameter", "parameters": {"Name": "/p", "Value": "v"},
               "physicalResourceId": {"id": "/p"}}
        self.h.handler(self.event("Create", Create=put))
        self.assertEqual(self.aws.calls, [("ssm", "put_parameter", {"Name": "/p", "Value": "v"})])
        body = self.h.responses[0][1]
        self.assertEqual((body["Status"], body["PhysicalResourceId"]), ("SUCCESS", "/p"))
        self.assertEqual(body["Data"], {"region": "eu-west-1", "Version": 1, "Tier": "Standard"})

    def test_v3_names_and_the_physical_id_placeholder(self):
        share = {"service": "@aws-sdk/client-ssm", "action": "ModifyDocumentPermissionCommand",
                 "parameters": {"Name": "PHYSICAL:RESOURCEID:", "AccountIdsToRemove": ["111111111111"]}}
        self.h.handler(self.event("Delete", Delete=share))
        self.assertEqual(self.aws.calls, [("ssm", "modify_document_permission",
                                           {"Name": "widget-1", "AccountIdsToRemove": ["111111111111"]})])
        self.assertEqual(self.h.responses[0][1]["PhysicalResourceId"], "widget-1")

    def test_the_physical_id_from_the_response_and_output_paths(self):
        self.aws.answers[("ssm", "get_parameter")] = {"Parameter": {"ARN": "arn:p", "Value": "v", "Tags": ["a", "b"]}}
        get = {"service": "SSM", "action": "getParameter", "parameters": {"Name": "/p"},
               "physicalResourceId": {"responsePath": "Parameter.ARN"}, "outputPaths": ["Parameter.Tags"]}
        self.h.handler(self.event("Create", Create=get, Update=get))
        body = self.h.responses[0][1]
        self.assertEqual(body["PhysicalResourceId"], "arn:p")
        self.assertEqual(body["Data"], {"Parameter.Tags.0": "a", "Parameter.Tags.1": "b"})

    def test_ignored_error_codes_succeed_and_others_fail(self):
        self.aws.answers[("ssm", "delete_parameter")] = ClientError("ParameterNotFound")
        delete = {"service": "SSM", "action": "deleteParameter", "parameters": {"Name": "/p"},
                  "ignoreErrorCodesMatching": "ParameterNotFound"}
        self.h.handler(self.event("Delete", Delete=delete))
        self.assertEqual(self.h.responses[-1][1]["Status"], "SUCCESS")
        del delete["ignoreErrorCodesMatching"]
        self.h.handler(self.event("Delete", Delete=delete))
        body = self.h.responses[-1][1]
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("ParameterNotFound", body["Reason"])
        self.assertEqual(body["PhysicalResourceId"], "widget-1")

    def test_no_call_for_the_event_answers_success(self):
        self.h.handler(self.event("Delete", Create={"service": "SSM", "action": "getParameter", "physicalResourceId": {"id": "x"}}))
        self.assertEqual(self.aws.calls, [])
        self.assertEqual(self.h.responses[0][1]["Status"], "SUCCESS")

    def test_an_unknown_service_fails_with_its_name(self):
        self.h.handler(self.event("Create", Create={"service": "Nope", "action": "x", "physicalResourceId": {"id": "x"}}))
        body = self.h.responses[0][1]
        self.assertEqual(body["Status"], "FAILED")
        self.assertIn("Nope", body["Reason"])


if __name__ == "__main__":
    unittest.main()
