"""The official OpenAI and Anthropic Python SDKs as clients of privgate (driven by tests/sdk.rs).

Each check prints a line; the script exits non-zero on the first failure. Environment:
PRIVGATE_BASE (https://localhost:PORT), SSL_CERT_FILE (privgate's dev CA), CANARY_* values.
"""
import os
import ssl
import sys

import anthropic
import httpx
import openai

BASE = os.environ["PRIVGATE_BASE"]
CA = os.environ["SSL_CERT_FILE"]
EMAIL = os.environ["CANARY_EMAIL"]
CARD = os.environ["CANARY_CARD"]
IBAN = os.environ["CANARY_IBAN"]
PROMPT = f"Please update my e-mail to {EMAIL} and charge card {CARD}, refund to {IBAN}."


def http_client():
    return httpx.Client(verify=ssl.create_default_context(cafile=CA))


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name}: {detail}")
        sys.exit(1)
    print(f"ok   {name}")


oa = openai.OpenAI(base_url=f"{BASE}/v1", api_key="sk-test-sdk", http_client=http_client(), max_retries=0)

r = oa.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], user="subject-1")
text = r.choices[0].message.content
check("openai chat: answer restored", EMAIL in text and CARD in text and IBAN in text, text)

chunks = []
with oa.chat.completions.create(
    model="gpt-4o",
    messages=[{"role": "user", "content": PROMPT}],
    stream=True,
    stream_options={"include_usage": True},
    extra_headers={"x-fake-mode": "sse"},
) as stream:
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            chunks.append(chunk.choices[0].delta.content)
streamed = "".join(chunks)
check("openai chat stream: reassembled and restored", streamed == PROMPT, streamed)

r = oa.responses.create(model="gpt-4o", input=PROMPT, instructions="be brief")
check("openai responses: answer restored", EMAIL in r.output_text, r.output_text)

with oa.responses.stream(model="gpt-4o", input=PROMPT, extra_headers={"x-fake-mode": "sse"}) as stream:
    deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    final = stream.get_final_response()
check("openai responses stream: deltas restored", deltas == PROMPT, deltas)
check("openai responses stream: final response restored", final.output_text == PROMPT, final.output_text)

e = oa.embeddings.create(model="text-embedding-3-small", input=[PROMPT, "second"])
check("openai embeddings: vectors returned", len(e.data) == 1 and len(e.data[0].embedding) == 2)

try:
    oa.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [{"type": "hologram"}]}])
    check("openai error: unknown part refused", False, "no error raised")
except openai.BadRequestError as err:
    check("openai error: provider-shaped 400 with a stable code", err.status_code == 400 and err.code == "unsupported_shape", str(err))

an = anthropic.Anthropic(base_url=BASE, api_key="sk-ant-test-sdk", http_client=http_client(), max_retries=0)
m = an.messages.create(
    model="claude-sonnet-4-5", max_tokens=100, system=f"Customer e-mail: {EMAIL}",
    messages=[{"role": "user", "content": PROMPT}],
)
check("anthropic messages: answer restored", EMAIL in m.content[0].text and CARD in m.content[0].text, m.content[0].text)

with an.messages.stream(
    model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": PROMPT}],
    extra_headers={"x-fake-mode": "sse"},
) as stream:
    streamed = "".join(stream.text_stream)
    final = stream.get_final_message()
check("anthropic stream: reassembled and restored", streamed == PROMPT, streamed)
check("anthropic stream: final message assembled", final.stop_reason == "end_turn", str(final.stop_reason))

try:
    an.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": [{"type": "mystery"}]}])
    check("anthropic error: unknown block refused", False, "no error raised")
except anthropic.BadRequestError as err:
    check("anthropic error: provider-shaped 400", err.status_code == 400 and err.body["error"]["code"] == "unsupported_shape", str(err.body))

try:
    an.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}], extra_headers={"x-fake-mode": "status:429"})
    check("anthropic upstream 429 surfaces as RateLimitError", False, "no error raised")
except anthropic.RateLimitError as err:
    check("anthropic upstream 429 surfaces as RateLimitError", err.status_code == 429)

print("ALL SDK CHECKS PASSED")
