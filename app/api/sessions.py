import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import AuthenticatedDep, ClientDep
from app.api.responses import error_responses
from app.database import SessionDep
from app.schemas.sessions import SessionResponse
from app.services import sessions

router = APIRouter(prefix="/auth/sessions", tags=["auth"])


@router.get(
    "",
    summary="Your signed-in devices",
    response_model=list[SessionResponse],
    responses=error_responses(401, 503),
)
async def list_sessions(authenticated: AuthenticatedDep, db: SessionDep) -> list[SessionResponse]:
    """Every live sign-in of your account, most recently used first; `current` is this one."""
    current = authenticated.claims.session_id
    return [
        SessionResponse(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            ip=session.client_ip,
            user_agent=session.user_agent,
            current=session.id == current,
        )
        for session in await sessions.list_sessions(db, user_id=authenticated.user.id)
    ]


@router.delete(
    "/{session_id}",
    summary="Sign a device out",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422, 503, s404="No such live session of yours"),
)
async def end_session(
    session_id: uuid.UUID, authenticated: AuthenticatedDep, db: SessionDep, client: ClientDep
) -> None:
    """End a session: its access and refresh tokens stop working at once, as with logout."""
    await sessions.end_session(
        db, user_id=authenticated.user.id, session_id=session_id, client=client
    )
