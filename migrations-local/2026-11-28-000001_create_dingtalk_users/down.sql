DROP TABLE dingtalk_users;
