"""The page decodes the compact map_update (static/js/frames.js) and draws exactly the server's frame: the same map
pixels as the server's own codes painted by the page's painter, and the links L1 killed."""

import pytest

from playground.session import TrainingSession
from tests.live_server import LiveServer

SEED = "frames"
L1 = {"regularization": "L1", "regularizationRate": 0.3}

# The server's own codes painted by the page's painter and colour table, against the map the page drew from the
# decoded frame; returns how many pixels differ.
DIFFERING_PIXELS = """async ({ codes, discretize }) => {
  const { PixelMap } = await import("/static/js/heatmap.js");
  const { byteLookup } = await import("/static/js/colors.js");
  const canvas = document.createElement("canvas");
  new PixelMap(canvas, 100).paint(Uint8Array.from(codes), 0, byteLookup({ discretize }));
  const expected = canvas.getContext("2d").getImageData(0, 0, 100, 100).data;
  const shown = document.querySelector("#heatmap canvas.map").getContext("2d").getImageData(0, 0, 100, 100).data;
  let differing = 0;
  for (let i = 0; i < expected.length; i += 4) {
    if ([0, 1, 2, 3].some((channel) => expected[i + channel] !== shown[i + channel])) differing++;
  }
  return differing;
}"""


@pytest.fixture(scope="module")
def live_server():
    """A server that does not send an unacknowledged frame again for 10 minutes, so every frame the page draws
    after a bad one shows that the page acknowledged the bad one."""
    server = LiveServer(ack_timeout=600)
    yield server
    server.stop()


@pytest.mark.parametrize("discretize", [False, True])
def test_the_map_shows_the_servers_frame(playground, discretize):
    # The same seed gives the same data and first weights, so this frame is the one the page's session renders.
    codes = list(TrainingSession({"seed": SEED}).frame().heatmap)
    assert any(120 <= code < 124 for code in codes), "the frame should have slightly negative grey pixels"
    playground.open(f"#seed={SEED}&discretize={str(discretize).lower()}")
    assert playground.epoch() == 0
    assert playground.evaluate(DIFFERING_PIXELS, {"codes": codes, "discretize": discretize}) == 0


def test_dead_links_show_where_the_server_killed_them(playground):
    session = TrainingSession({"seed": SEED, **L1})
    session.step()
    expected = [dead for layer in session.trainer.dead_links() for row in layer for dead in row]
    assert 0 < sum(expected) < len(expected)
    playground.open(f"#seed={SEED}&regularization=L1&regularizationRate=0.3")
    playground.page.click("#next-step-button")

    def shown():
        return playground.evaluate(
            "() => [...document.querySelectorAll('#network path.link')].map((line) => line.classList.contains('dead'))"
        )

    playground.wait_until(lambda: playground.epoch() == 1 and shown() == expected, message="the dead links of epoch 1")


def test_a_frame_that_cannot_be_decoded_is_reported_and_acknowledged(playground):
    """One map_update's maps attachment is replaced on its way (Playwright routes the page's WebSocket): the page
    says so, acknowledges it, and draws the frames that follow."""
    page = playground.page
    corrupt = {"armed": False, "next_binary": False, "done": False}

    def from_server(client, message):
        if isinstance(message, str):
            corrupt["next_binary"] = corrupt["armed"] and '"map_update"' in message
        elif corrupt["next_binary"]:  # the first attachment of a map_update is its `maps`
            corrupt.update(armed=False, next_binary=False, done=True)
            message = b"not a zlib stream"
        client.send(message)

    def route(client):
        server = client.connect_to_server()
        client.on_message(server.send)
        server.on_message(lambda message: from_server(client, message))

    page.route_web_socket("**/socket.io/**", route)
    playground.open(f"#seed={SEED}")
    corrupt["armed"] = True
    page.click("#play-pause-button")
    playground.wait_until(lambda: corrupt["done"], message="a map_update to corrupt")
    drawn = playground.frames()
    playground.wait_until(lambda: "could not be decoded" in playground.text("#errors"), message="the error shown")
    playground.wait_until(lambda: playground.frames() > drawn + 5, message="frames drawn after the bad one")
    assert any("decoding a frame failed" in problem for problem in page.problems)
    page.problems.clear()  # the one expected console error
