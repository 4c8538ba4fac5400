"""The review queue in one place: streaming appends and routing that open cases (`service`), reads
and decisions on cases (`queue`), leave-one-message-out explanations (`influence`), what the API
returns (`views`) and decided cases as training data (`verdicts`). Case SQL lives in
`groomguard.serving.store.cases`; case statuses in `groomguard.serving.store.statuses`.
"""

from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound
from groomguard.serving.review.influence import WindowScorer
from groomguard.serving.review.service import AppendOutcome, ReviewService, RouteOutcome

__all__ = ["AppendOutcome", "Conflict", "InvalidRequest", "NotFound", "ReviewService", "RouteOutcome",
           "WindowScorer"]
