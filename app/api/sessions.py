import uuid

from fastapi import APIRouter, Response, status

from app.api.deps import AuthenticatedDep, ClientDep
from app.database import SessionDep
from app.schemas.sessions import SessionResponse
from app.services import sessions

router = APIRouter(prefix="/auth/sessions", tags=["auth"])

_UNAUTHENTICATED = {401: {"description": "Missing, invalid, expired or revoked token"}}


@router.get(
    "",
    summary="Your signed-in devices",
    response_model=list[SessionResponse],
    responses=_UNAUTHENTICATED,
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
    responses={**_UNAUTHENTICATED, 404: {"description": "No such live session of yours"}},
)
async def end_session(
    session_id: uuid.UUID, authenticated: AuthenticatedDep, db: SessionDep, client: ClientDep
) -> None:
    """End a session: its access and refresh tokens stop working at once, as with logout."""
    await sessions.end_session(
        db, user_id=authenticated.user.id, session_id=session_id, client=client
    )
