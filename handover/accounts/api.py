from ninja import Router, Schema, Status

from handover.accounts.models import User
from handover.accounts.services import token_for_credentials, user_create
from handover.api.errors import refusals

router = Router()


class UserIn(Schema):
    username: str
    email: str = ""
    password: str


class UserOut(Schema):
    id: int
    username: str
    email: str
    role: str


class CredentialsIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str


@router.post("/users", auth=None, response={201: UserOut})
def create_user(request, payload: UserIn):
    user = user_create(username=payload.username, email=payload.email, password=payload.password)
    return Status(201, user)


@router.post("/auth/token", auth=None, response={200: TokenOut, **refusals(401, 429)})
def create_token(request, payload: CredentialsIn):
    token = token_for_credentials(
        username=payload.username, password=payload.password, request=request
    )
    return {"token": token}


@router.get("/me", response=UserOut)
def me(request):
    user: User = request.auth
    return user
