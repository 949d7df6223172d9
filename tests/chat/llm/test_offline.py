from chat.llm.client import ChatClient, Delta, Usage
from chat.llm.offline import OfflineTransport, describe_photo
from chat.photos.images import data_url, encode_for_model
from tests.helpers.factories import jpeg_bytes


def test_describe_photo_measures_size_orientation_and_colour(tmp_path):
    path = tmp_path / "p.jpg"
    path.write_bytes(jpeg_bytes((900, 400), colour=(40, 140, 60)))
    facts = describe_photo(data_url(*encode_for_model(path, "low")))
    assert facts["orientation"] == "landscape"
    assert facts["colours"][0] == "green"
    assert facts["width"] > facts["height"]


async def test_offline_model_streams_through_the_real_client(tmp_path):
    path = tmp_path / "p.jpg"
    path.write_bytes(jpeg_bytes((300, 600), colour=(240, 240, 240)))
    payload = {
        "model": "visionqa/offline-demo",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": data_url(*encode_for_model(path, "low"))},
                    },
                ],
            }
        ],
        "stream": True,
    }
    client = ChatClient("http://offline.invalid/v1", "x", transport=OfflineTransport(0))
    events = [e async for e in client.stream(payload)]
    reasoning = "".join(e.text for e in events if isinstance(e, Delta) and e.kind == "reasoning")
    answer = "".join(e.text for e in events if isinstance(e, Delta) and e.kind == "answer")
    assert "portrait" in reasoning
    assert "white" in answer and "offline demo" in answer
    assert any(isinstance(e, Usage) and e.reasoning_tokens > 0 for e in events)
