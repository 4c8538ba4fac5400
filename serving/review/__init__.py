"""The review queue: `ReviewService` (service.py) composed of streaming appends (`appends`), routing
of conversations scored whole (`routing`), case reads (`case_reads`) and moderators' decisions
(`decisions`); request limits (`request_limits`), leave-one-message-out explanations (`influence`),
what the API returns (`views`) and decided cases as training data (`verdicts`). Case SQL lives in
`groomguard.serving.store.cases`; case statuses in `groomguard.serving.store.statuses`.
"""

from groomguard.serving.review.appends import AppendOutcome
from groomguard.serving.review.errors import Conflict, InvalidRequest, LimitExceeded, NotFound
from groomguard.serving.review.influence import WindowScorer
from groomguard.serving.review.routing import RouteOutcome
from groomguard.serving.review.service import ReviewService

__all__ = ["AppendOutcome", "Conflict", "InvalidRequest", "LimitExceeded", "NotFound", "ReviewService",
           "RouteOutcome", "WindowScorer"]
