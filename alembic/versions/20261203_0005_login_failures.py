"""Failed sign-ins per (account, client address); sessions remember their client; disabling an
account revokes its sessions.

Revision ID: login_failures
Revises: 0004
Create Date: 2026-12-03 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "login_failures"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In the database, not in a service: an operator disabling an account with plain SQL must end
# its sessions too, or enabling it again would revive them.
REVOKE_ON_DISABLE = (
    """
CREATE FUNCTION revoke_sessions_of_disabled_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'account_disabled'
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER users_disabled_revoke_sessions
    AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'disabled' AND OLD.status IS DISTINCT FROM 'disabled')
    EXECUTE FUNCTION revoke_sessions_of_disabled_user()
""",
)


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account_key", "client_ip", name=op.f("pk_login_failures")),
    )
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_login_count")
    op.add_column("auth_sessions", sa.Column("client_ip", sa.String(length=45), nullable=True))
    op.add_column("auth_sessions", sa.Column("client_network", sa.String(length=49), nullable=True))
    op.add_column("auth_sessions", sa.Column("user_agent", sa.String(length=200), nullable=True))
    for statement in REVOKE_ON_DISABLE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_disabled_revoke_sessions ON users")
    op.execute("DROP FUNCTION revoke_sessions_of_disabled_user()")
    op.drop_column("auth_sessions", "user_agent")
    op.drop_column("auth_sessions", "client_network")
    op.drop_column("auth_sessions", "client_ip")
    op.add_column(
        "users", sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("login_failures")
