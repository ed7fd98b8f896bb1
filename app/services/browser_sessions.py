"""What a browser session can do with only its refresh cookie: sign out."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import User
from app.security import InvalidToken, decode_token
from app.services import sessions
from app.services.clients import ClientInfo
from app.services.errors import NotAuthenticated


async def logout_with_refresh_token(
    db: AsyncSession, *, settings: Settings, refresh_token: str, client: ClientInfo
) -> None:
    """End the session a (signed, unexpired) refresh token belongs to."""
    try:
        claims = decode_token(
            refresh_token,
            secret=settings.jwt_secret(),
            expected_type="refresh",
            algorithm=settings.JWT_ALGORITHM,
        )
    except InvalidToken as error:
        raise NotAuthenticated(sessions.INVALID_TOKEN) from error
    user = await db.get(User, claims.subject)
    if user is None:
        raise NotAuthenticated(sessions.INVALID_TOKEN)
    await sessions.logout(db, user=user, claims=claims, client=client)
